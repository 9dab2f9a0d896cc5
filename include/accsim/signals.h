/* SIGINT, SIGTERM and SIGHUP stop accsim cleanly: the handler signals the
 * running child process (gnuplot), removes every registered temporary file and
 * temporary directory, says so on stderr in one line and exits with status
 * 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
 *
 * The registry of temporary paths lives in static storage and is changed only
 * by the thread that installed the handlers (the main thread), with the
 * signals blocked while a path is created and registered. The handler does its
 * work only on that thread: run on any other (the engines' workers), it
 * forwards the signal to the main thread and returns, so it never sees the
 * registry half-changed. Everything it calls is async-signal-safe. */
#ifndef ACCSIM_SIGNALS_H
#define ACCSIM_SIGNALS_H

#include <signal.h>
#include <sys/types.h>

/* Installs the handlers; call once, from the main thread, before any other
 * thread exists. Returns 0, or -1 with errno set. */
int accsim_signals_install(void);

/* Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (saving the old
 * mask in *old) and restores the mask. */
void accsim_signals_block(sigset_t *old);
void accsim_signals_restore(const sigset_t *old);

/* mkstemp / mkdtemp on TEMPLATE (ending in XXXXXX, filled in place) and
 * registration of the new path for removal on a signal, with the signals
 * blocked in between so that no signal leaves the path unregistered. *slot
 * receives the registry slot for accsim_cleanup_forget. mkstemp returns the
 * descriptor (O_CLOEXEC), mkdtemp 0; both -1 with errno set on failure (also
 * ENOSPC when the registry is full; nothing is then left behind). */
int accsim_cleanup_mkstemp(char *template_path, int *slot);
int accsim_cleanup_mkdtemp(char *template_path, int *slot);
/* Registers an existing directory tree (removed whole on a signal). */
int accsim_cleanup_add_dir(const char *path, int *slot);
/* The path is no longer temporary (renamed into place, or removed). */
void accsim_cleanup_forget(int slot);

/* The running child process, signalled (SIGTERM, then SIGKILL after 2 s) and
 * reaped by the handler; 0 when none. */
void accsim_cleanup_set_child(pid_t pid);

/* Removes PATH and, when it is a directory, everything below it, without
 * following symbolic links (a link is removed, not its target). Async-signal-
 * safe. Returns 0 (also when PATH does not exist) or -1 with errno set. */
int accsim_remove_tree(const char *path);

#endif
