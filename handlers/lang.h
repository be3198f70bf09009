/* lang.h: which language a resident's text is written in, and whether it has words at all
 * (docs/contract.md 6.3). Pure: reads the text and OpenCC's t2s table (handlers/catmodel.h).
 *
 * The script decides, not a word list:
 * - Traditional: Han characters that OpenCC's t2s changes (樓, 們, 鄰, 嗰 ...) are counted; at
 *   least two of them, or one in every eight Han characters, make a text Traditional. A few
 *   characters t2s changes are also written in Simplified text (著 in 著名); one of them in a
 *   Simplified sentence stays below that share.
 * - Simplified: six or more Han characters and none that t2s changes. Fewer Han characters
 *   without a Traditional one are Chinese of either script (LANG_ZH): 你好 is both.
 * - English: no Han character, at least three ASCII letters, and letters the most of what is
 *   neither a digit, a space nor punctuation. With Han characters too, English only when its
 *   letters outnumber twice the Han characters and it has three words (an English sentence
 *   naming 枫源村).
 * Anything else (digits, emoji, punctuation, a bare "ok") is LANG_NONE. */
#ifndef FQ_LANG_H
#define FQ_LANG_H

#include <stdbool.h>

#include "handlers/catmodel.h"

enum fq_lang { LANG_NONE = 0, LANG_ZH, LANG_ZH_CN, LANG_ZH_TW, LANG_EN };

/* The language of text; cn NULL: Traditional is not told from Simplified (LANG_ZH). */
enum fq_lang lang_detect(const catnorm *cn, const char *text);

/* Whether text has a word: a letter or digit of any script (Latin, Greek, Cyrillic, kana,
 * Hangul, Han ...) outside a sticker's code ([微笑], [Smile]: what messengers put in the text
 * for a sticker or emoji). Emoji, symbols, punctuation, spaces and sticker codes only: false. */
bool lang_has_words(const char *text);

#endif
