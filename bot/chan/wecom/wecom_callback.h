/* wecom_callback.h: the WeCom callback (docs/contract.md 3.2, docs/wecom.md 2-4): query parsing,
 * the msg_signature, AES-256-CBC with the strict rules of docs/wecom.md 3.3, the XML of the
 * envelope and of the message (expat, no DTD, no entities), and the mapping of a decrypted
 * message to a struct fq_msg for the core. No HTTP library here: the channel
 * (bot/chan/wecom/wecom_chan.c) calls these, and so do the unit tests, the fuzz target and the
 * benchmark.
 *
 * Error codes are the official ones of docs/wecom.md 3.5 (negative ints, WECOM_OK = 0); they are
 * internal (WeCom never sees them) and appear in logs and tests only. */
#ifndef FQ_WECOM_CALLBACK_H
#define FQ_WECOM_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/fq.h"

enum wecom_code {
    WECOM_OK = 0,
    WECOM_E_SIGNATURE = -40001,    /* msg_signature does not match */
    WECOM_E_XML = -40002,          /* envelope or message XML refused */
    WECOM_E_AESKEY = -40004,       /* EncodingAESKey is not 43 base64 characters / 32 bytes */
    WECOM_E_RECEIVEID = -40005,    /* the receiveid inside the plaintext is not ours */
    WECOM_E_ENCRYPT = -40006,
    WECOM_E_DECRYPT = -40007,      /* ciphertext length, AES, or PKCS#7 padding */
    WECOM_E_BUFFER = -40008,       /* plaintext too short, or msg_len beyond it */
    WECOM_E_BASE64 = -40010,       /* not strict padded base64 */
    WECOM_E_NOMEM = -40090,        /* (ours) out of memory */
    WECOM_E_STALE = -40091,        /* (ours) timestamp older than wecom.max_age */
    WECOM_E_QUERY = -40092,        /* (ours) a query parameter is missing or malformed */
};
/* "bad_signature", "bad_xml", ... as the vectors name the classes; "error" for others. */
const char *wecom_code_name(int code);

/* Largest envelope the callback accepts (the 64 KB message of the vectors is ~90 KB). */
#define WECOM_MAX_BODY (512 * 1024)
/* Most top-level fields of one message; more is refused as bad XML. */
#define WECOM_XML_MAX_FIELDS 64

/* The keys of one app (or customer-service account) callback. Embedded: init/cleanup. */
struct wecom_crypt {
    char *token;                     /* owned */
    char *receiveid;                 /* owned: the CorpID */
    unsigned char key[32];           /* AESKey; IV = key[0:16] */
};
/* Copies token and receiveid and decodes encoding_aes_key (43 characters, lenient last bits).
 * Returns WECOM_OK, WECOM_E_AESKEY, or WECOM_E_NOMEM (then nothing to clean up). */
int wecom_crypt_init(struct wecom_crypt *c, const char *token, const char *encoding_aes_key,
                     const char *receiveid);
void wecom_crypt_cleanup(struct wecom_crypt *c);          /* NULL-safe; wipes the key */

/* msg_signature: lower-case hex SHA-1 of the four strings sorted in byte order and joined. */
void wecom_signature(const char *token, const char *timestamp, const char *nonce,
                     const char *encrypt, size_t encrypt_len, char out[41]);
/* True when sig equals the signature, compared in constant time (upper case is refused). */
bool wecom_signature_ok(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                        const char *nonce, const char *encrypt, size_t encrypt_len);

/* Decrypts the base64 text of Encrypt (or the decoded echostr) by the steps 2-8 of docs/wecom.md
 * 3.3. On WECOM_OK *msg (caller frees; NUL-terminated, but may contain NUL bytes) holds
 * *msg_len bytes. */
int wecom_decrypt(const struct wecom_crypt *c, const char *b64, size_t b64_len, char **msg,
                  size_t *msg_len);
/* Encrypts msg (docs/wecom.md 3.4) with random16 (NULL: from the CSPRNG). *b64: caller frees. */
int wecom_encrypt(const struct wecom_crypt *c, const char *msg, size_t msg_len,
                  const unsigned char *random16, char **b64);
/* The passive-reply envelope of docs/wecom.md 3.4 for msg. *xml: caller frees. */
int wecom_reply_envelope(const struct wecom_crypt *c, const char *msg, size_t msg_len,
                         const char *timestamp, const char *nonce,
                         const unsigned char *random16, char **xml);

/* The value of query parameter `name` in a raw query string ("a=1&b=%2F"), percent-decoded
 * (%XX only; a literal "+" stays "+"). Caller frees; NULL when absent, repeated, malformed
 * (%ZZ, a decoded NUL) or on oom. */
char *wecom_query_param(const char *query, size_t query_len, const char *name);

/* ---- XML ------------------------------------------------------------------------------------ */
struct wecom_selected {              /* one SelectedItem of a vote/multiple card event */
    char *question_key;
    char **option_ids;
    size_t n_option_ids;
};

/* The top-level elements of <xml>...</xml> as name -> text (CDATA sections and text joined,
 * entities of the five predefined kinds decoded). Owned: wecom_xml_cleanup. */
struct wecom_xml {
    char *names[WECOM_XML_MAX_FIELDS];
    char *values[WECOM_XML_MAX_FIELDS];
    size_t n;
    struct wecom_selected *sel;      /* SelectedItems (OptionIds or the docs' OpitonIds) */
    size_t n_sel;
};
/* Parses len bytes with expat. Refused (WECOM_E_XML): a DOCTYPE or any entity declaration, a
 * root other than <xml>, nesting deeper than 6, more than WECOM_XML_MAX_FIELDS fields, a
 * repeated field, malformed XML. WECOM_E_NOMEM on oom. On error *out is empty. */
int wecom_xml_parse(const char *xml, size_t len, struct wecom_xml *out);
void wecom_xml_cleanup(struct wecom_xml *x);              /* NULL-safe */
/* The text of a field (borrowed), NULL when absent. */
const char *wecom_xml_get(const struct wecom_xml *x, const char *name);

/* ---- the two requests ----------------------------------------------------------------------- */
/* POST: envelope XML -> Encrypt -> signature (first, constant time) -> decrypt -> message XML.
 * max_age > 0 refuses (WECOM_E_STALE) a timestamp older than now - max_age, after the signature
 * check. On WECOM_OK *out holds the message's fields. */
int wecom_callback_open(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                        const char *nonce, const char *body, size_t body_len, int64_t max_age,
                        int64_t now, struct wecom_xml *out);
/* The same in two steps, for a caller that checks before it decrypts: verify (the envelope, the
 * signature, the age; on WECOM_OK *env holds the envelope, wecom_xml_cleanup), then decrypt
 * (env's Encrypt -> *out). */
int wecom_callback_verify(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                          const char *nonce, const char *body, size_t body_len, int64_t max_age,
                          int64_t now, struct wecom_xml *env);
int wecom_callback_decrypt(const struct wecom_crypt *c, const struct wecom_xml *env,
                           struct wecom_xml *out);
/* GET: signature over echostr (wecom_url_check, WECOM_E_QUERY when a parameter is missing),
 * then decrypt it. *plain (caller frees) is the text to answer. */
int wecom_url_verify(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                     const char *nonce, const char *echostr, char **plain, size_t *plain_len);
int wecom_url_check(const struct wecom_crypt *c, const char *sig, const char *timestamp,
                    const char *nonce, const char *echostr);

/* ---- what a message means for the daemon ------------------------------------------------------ */
enum wecom_route {
    WECOM_ROUTE_IGNORE = 0,          /* acknowledged, nothing to do (enter_agent, click, ...) */
    WECOM_ROUTE_CORE,                /* *msg goes to the core */
    WECOM_ROUTE_KF,                  /* a kf_msg_or_event doorbell: pull with kf/sync_msg */
};
struct wecom_kf_bell {
    char *token, *open_kfid;         /* owned (wecom_kf_bell_cleanup); open_kfid may be NULL */
};
void wecom_kf_bell_cleanup(struct wecom_kf_bell *b);

/* Button keys of the assignment card: "<command>:<case_no>" for each card command of
 * lifecycle_commands (handlers/lifecycle.h): "accept:<case_no>", "escalate:<case_no>". */
#define WECOM_KEY_SEP ':'

/* Maps a decrypted app message to the core's input (FQ_IDENT_MEMBER, FQ_REACH_WINDOW; the
 * channel, bot/chan/wecom/wecom_chan.c, sets m->chan):
 * - text, image, voice, location, link from a member: an FQ_MSG_CHAT,
 *   channel "wecom", user = FromUserName, message_id = MsgId (the dedupe key);
 * - template_card_event with a key above: an FQ_MSG_COMMAND (command "accept"/"escalate",
 *   case_no), with mediator = user = FromUserName (the core maps the WeCom userid to the roster
 *   id), response_code = the event's ResponseCode (for update_template_card), request_id =
 *   the event dedupe key FromUserName|CreateTime|Event|EventKey|TaskId;
 * - kf_msg_or_event: *bell gets the Token and OpenKfId;
 * - anything else: ignored.
 * now: the received time. Returns the route; on WECOM_ROUTE_CORE *msg is new (caller owns). On
 * oom returns WECOM_ROUTE_IGNORE with *oom set. */
enum wecom_route wecom_route_message(const struct wecom_xml *x, int64_t now, struct fq_msg **msg,
                                     struct wecom_kf_bell *bell, bool *oom);

#endif
