#include <stdio.h>
#include <editline/readline.h>

/* libedit's readline state lives in mutable C globals, which Swift 6 does not let Swift code touch
   directly. magi reads lines on one thread (the REPL's), so these accessors are all it needs: each
   reads or sets the globals for that thread's editor. */

/* Sets up the editor: libedit's signal handling off, `getc` as its character source, `complete`
   as its completion callback, "magi" as the application name ~/.editrc names. */
static inline void magi_editor_configure(int (*getc)(FILE *), rl_completion_func_t *complete) {
    static const char name[] = "magi";
    rl_catch_signals = 0;
    rl_getc_function = getc;
    rl_readline_name = name;
    rl_attempted_completion_function = complete;
}

/* The newest history entry's text, or NULL when the history is empty. */
static inline const char *magi_history_newest(void) {
    if (history_length <= 0) return NULL;
    HIST_ENTRY *entry = history_get(history_base + history_length - 1);
    return entry ? entry->line : NULL;
}

/* The line being edited, during a completion callback. */
static inline const char *magi_editor_line(void) { return rl_line_buffer; }

/* 1: the completion callback's list is final; 0: libedit completes a file name instead. */
static inline void magi_editor_set_completion_over(int over) { rl_attempted_completion_over = over; }
