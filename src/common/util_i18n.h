/* gettext glue for user-facing messages (start-up errors, CLI help). */
#ifndef CACHET_UTIL_I18N_H
#define CACHET_UTIL_I18N_H

#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) dgettext(PACKAGE, s)
#else
#define _(s) (s)
#endif
#define N_(s) (s)

#endif
