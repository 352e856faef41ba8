# gmem-flags.m4 - compiler and linker flag probes for libgmem.
#
# Written for this project instead of depending on autoconf-archive, so a
# fresh machine needs nothing beyond autoconf, automake, libtool and
# pkg-config.
#
# Each probe adds the flag to a shell variable only when the compiler (or
# the compiler driver and linker) accepts it without complaint.  The probes
# never touch the user's CFLAGS or LDFLAGS: the results go into variables
# that configure.ac AC_SUBSTs and Makefile.am puts in AM_CFLAGS/AM_LDFLAGS.

# GMEM_PROBE_INIT
# ---------------
# Work out the extra flags that turn "accepted with a warning" into a probe
# failure: clang only warns about unknown -W options and unused driver
# arguments, so add -Werror=unknown-warning-option and
# -Werror=unused-command-line-argument when the compiler knows them.  GNU ld
# only warns about unknown -z keywords, so link probes add
# -Wl,--fatal-warnings when the linker knows it.
AC_DEFUN([GMEM_PROBE_INIT],
[AC_REQUIRE([AC_PROG_CC])dnl
gmem_probe_cflags=
gmem_probe_ldflags=
for gmem_flag in -Werror=unknown-warning-option -Werror=unused-command-line-argument; do
  AC_MSG_CHECKING([whether $CC accepts $gmem_flag])
  gmem_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS $gmem_flag"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [gmem_probe_cflags="$gmem_probe_cflags $gmem_flag"; AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])])
  CFLAGS=$gmem_save_CFLAGS
done
AC_MSG_CHECKING([whether the linker accepts -Wl,--fatal-warnings])
gmem_save_LDFLAGS=$LDFLAGS
LDFLAGS="$LDFLAGS -Wl,--fatal-warnings"
AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
  [gmem_probe_ldflags=-Wl,--fatal-warnings; AC_MSG_RESULT([yes])],
  [AC_MSG_RESULT([no])])
LDFLAGS=$gmem_save_LDFLAGS
])

# GMEM_CHECK_CFLAG(FLAG, VARIABLE, [EXTRA-PROBE-CFLAGS])
# ------------------------------------------------------
# Append FLAG to the shell variable VARIABLE if $CC compiles a trivial
# program with it (plus EXTRA-PROBE-CFLAGS, which are not appended).
AC_DEFUN([GMEM_CHECK_CFLAG],
[AC_REQUIRE([GMEM_PROBE_INIT])dnl
AS_VAR_PUSHDEF([gmem_cache], [gmem_cv_cflag_$1_$3])dnl
AC_CACHE_CHECK([whether $CC accepts $1], [gmem_cache],
  [gmem_save_CFLAGS=$CFLAGS
   CFLAGS="$CFLAGS $gmem_probe_cflags $3 $1"
   AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
     [AS_VAR_SET([gmem_cache], [yes])],
     [AS_VAR_SET([gmem_cache], [no])])
   CFLAGS=$gmem_save_CFLAGS])
AS_VAR_IF([gmem_cache], [yes], [$2="$[]$2 $1"])
AS_VAR_POPDEF([gmem_cache])dnl
])

# GMEM_CHECK_LDFLAG(FLAG, VARIABLE, [EXTRA-PROBE-CFLAGS])
# -------------------------------------------------------
# Append FLAG to the shell variable VARIABLE if $CC links a trivial program
# with FLAG in LDFLAGS (and EXTRA-PROBE-CFLAGS in CFLAGS) without errors or
# linker warnings.
AC_DEFUN([GMEM_CHECK_LDFLAG],
[AC_REQUIRE([GMEM_PROBE_INIT])dnl
AS_VAR_PUSHDEF([gmem_cache], [gmem_cv_ldflag_$1_$3])dnl
AC_CACHE_CHECK([whether the linker accepts $1], [gmem_cache],
  [gmem_save_CFLAGS=$CFLAGS
   gmem_save_LDFLAGS=$LDFLAGS
   CFLAGS="$CFLAGS $gmem_probe_cflags $3"
   LDFLAGS="$LDFLAGS $gmem_probe_ldflags $1"
   AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
     [AS_VAR_SET([gmem_cache], [yes])],
     [AS_VAR_SET([gmem_cache], [no])])
   CFLAGS=$gmem_save_CFLAGS
   LDFLAGS=$gmem_save_LDFLAGS])
AS_VAR_IF([gmem_cache], [yes], [$2="$[]$2 $1"])
AS_VAR_POPDEF([gmem_cache])dnl
])

# GMEM_CHECK_CFLAGS(FLAGS, VARIABLE, [EXTRA-PROBE-CFLAGS])
# --------------------------------------------------------
# GMEM_CHECK_CFLAG for each whitespace-separated flag in the shell word
# FLAGS (a shell loop, so flags may contain commas).
AC_DEFUN([GMEM_CHECK_CFLAGS],
[for gmem_flag in m4_normalize([$1]); do
  GMEM_CHECK_CFLAG([${gmem_flag}], [$2], [$3])
done])

# GMEM_CHECK_LDFLAGS(FLAGS, VARIABLE, [EXTRA-PROBE-CFLAGS])
# ---------------------------------------------------------
AC_DEFUN([GMEM_CHECK_LDFLAGS],
[for gmem_flag in m4_normalize([$1]); do
  GMEM_CHECK_LDFLAG([${gmem_flag}], [$2], [$3])
done])
