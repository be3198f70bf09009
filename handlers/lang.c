/* lang.c: the language and the wordlessness of a text (handlers/lang.h). */
#include <string.h>

#include "common/fq.h"
#include "handlers/lang.h"

static bool is_han(int32_t c)
{
    return (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3134F);
}

static bool is_ascii_letter(int32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A letter or digit of a script; emoji, symbols, punctuation and spaces are not. */
static bool is_word_cp(int32_t c)
{
    if (c < 0x80)
        return is_ascii_letter(c) || (c >= '0' && c <= '9');
    if (c >= 0xFF10 && c <= 0xFF19)
        return true;                                    /* full-width digits */
    if ((c >= 0xFF21 && c <= 0xFF3A) || (c >= 0xFF41 && c <= 0xFF5A))
        return true;                                    /* full-width letters */
    if (c >= 0xC0 && c <= 0x1FFF)
        return c != 0xD7 && c != 0xF7;                  /* Latin, Greek, Cyrillic ... scripts */
    if (c >= 0x2460 && c <= 0x24FF)
        return true;                                    /* circled digits: a menu choice */
    if (c >= 0x2776 && c <= 0x2793)
        return true;
    if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3105 && c <= 0x312F) ||
        (c >= 0xAC00 && c <= 0xD7AF) || c == 0x3007)
        return true;                                    /* kana, bopomofo, Hangul, 〇 */
    return is_han(c);
}

/* The length of a sticker's code at s ("[" up to STICKER_CPS code points "]", as messengers
 * write their stickers and emoji in text: [微笑], [Smile]), 0 when s starts none. */
#define STICKER_CPS 6
static size_t sticker_code(const char *s, const char *end)
{
    if (*s != '[')
        return 0;
    const char *p = s + 1;
    for (size_t n = 0; p < end && n <= STICKER_CPS; n++) {
        if (*p == ']')
            return n ? (size_t)(p + 1 - s) : 0;
        int32_t c = fq_utf8_next(&p, end);
        if (c < 0 || !is_word_cp(c))
            return 0;
    }
    return 0;
}

bool lang_has_words(const char *text)
{
    if (!text)
        return false;
    const char *p = text, *end = text + strlen(text);
    while (p < end) {
        size_t sk = sticker_code(p, end);
        if (sk) {
            p += sk;
            continue;
        }
        const char *from = p;
        int32_t c = fq_utf8_next(&p, end);
        if (c < 0) {
            p = from + 1;
            continue;
        }
        if (is_word_cp(c))
            return true;
    }
    return false;
}

enum fq_lang lang_detect(const catnorm *cn, const char *text)
{
    if (!text)
        return LANG_NONE;
    size_t han = 0, trad = 0, letters = 0, other = 0, words = 0;
    bool in_word = false;
    const char *p = text, *end = text + strlen(text);
    while (p < end) {
        const char *from = p;
        int32_t c = fq_utf8_next(&p, end);
        if (c < 0) {
            p = from + 1;
            continue;
        }
        bool letter = is_ascii_letter(c);
        if (letter && !in_word)
            words++;
        in_word = letter || (in_word && c == '\'');
        if (letter) {
            letters++;
        } else if (is_han(c)) {
            han++;
            if (cn && catnorm_t2s(cn, c) != c)
                trad++;
        } else if (c >= 0x80 && is_word_cp(c)) {
            other++;                                    /* another script's letter */
        }
    }
    if (letters >= 3 && letters >= other * 2 &&
        (han == 0 || (letters > han * 2 && words >= 3)))
        return LANG_EN;
    if (han == 0)
        return LANG_NONE;
    if (trad && (trad >= 2 || trad * 8 >= han))
        return LANG_ZH_TW;
    return han >= 6 && cn ? LANG_ZH_CN : LANG_ZH;
}
