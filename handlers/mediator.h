/* mediator.h: the mediator's side of the conversation and MQTT commands (handlers/mediator.c). */
#ifndef FQ_MEDIATOR_H
#define FQ_MEDIATOR_H

#include "common/fq.h"
#include "handlers/actions.h"

/*  a mediator's chat text (docs/contract.md 7.2 commands: 接单 <case>, 进展 <case>
 * <note>, ...); `mediator` is the roster index of the sender. */
enum fq_err mediator_on_chat(struct fq_ctx *c, const struct fq_msg *m, int mediator,
                             struct fq_actions *out);
/* A mediator command from MQTT {p}/mediators/{id}/commands (FQ_MSG_COMMAND): the outcome goes
 * to out as an FQ_ACT_MED_REPLY action (and the answer). */
enum fq_err mediator_on_command(struct fq_ctx *c, const struct fq_msg *m, struct fq_actions *out);
/* Whether name is the wire name of something a mediator can send: a command of theirs in
 * lifecycle_commands, or "list" (the locale loader checks keywords.cmd_<name> with it). */
bool mediator_command_known(const char *name);
/* The mediators' help text (messages.med_help, which the locale loader makes with this):
 * med_help_head, then the line med_help_<name> of each mediator command of lifecycle_commands
 * in table order, then med_help_list, one a line. get(arg, key) looks a message up (NULL when
 * missing). Caller frees; NULL on oom or when a line is missing (its key in missing). */
char *mediator_help_compose(const char *(*get)(void *arg, const char *key), void *arg,
                            char *missing, size_t missing_size);

#endif
