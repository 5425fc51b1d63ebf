# n56_flags.m4: compiler and linker flags applied only where the toolchain
# accepts them (no autoconf-archive needed).

# N56_CHECK_CFLAG(FLAG, VARIABLE): append FLAG to VARIABLE when the C
# compiler compiles a program with it and -Werror (a flag a compiler only
# warns about counts as refused).
AC_DEFUN([N56_CHECK_CFLAG], [
  AS_VAR_PUSHDEF([n56_cv], [n56_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [n56_cv], [
    n56_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [[return 0;]])],
      [AS_VAR_SET([n56_cv], [yes])], [AS_VAR_SET([n56_cv], [no])])
    CFLAGS=$n56_save_CFLAGS])
  AS_VAR_IF([n56_cv], [yes], [$2="$$2 $1"])
  AS_VAR_POPDEF([n56_cv])
])

# N56_CHECK_LDFLAG(FLAG, VARIABLE): append FLAG to VARIABLE when a program
# links with it.
AC_DEFUN([N56_CHECK_LDFLAG], [
  AS_VAR_PUSHDEF([n56_cv], [n56_cv_ldflag_$1])
  AC_CACHE_CHECK([whether the linker accepts $1], [n56_cv], [
    n56_save_LDFLAGS=$LDFLAGS
    LDFLAGS="$LDFLAGS $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [[return 0;]])],
      [AS_VAR_SET([n56_cv], [yes])], [AS_VAR_SET([n56_cv], [no])])
    LDFLAGS=$n56_save_LDFLAGS])
  AS_VAR_IF([n56_cv], [yes], [$2="$$2 $1"])
  AS_VAR_POPDEF([n56_cv])
])

# N56_CHECK_FORTIFY(VARIABLE): append -D_FORTIFY_SOURCE=2 to VARIABLE when
# the build optimises (glibc's checks need it, and warn without it) and
# neither the compiler nor the flags given (dpkg-buildflags, rpm's
# optflags) define _FORTIFY_SOURCE already.
AC_DEFUN([N56_CHECK_FORTIFY], [
  AC_CACHE_CHECK([whether to add -D_FORTIFY_SOURCE=2], [n56_cv_fortify], [
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[
#ifndef __OPTIMIZE__
#error no optimisation: _FORTIFY_SOURCE does nothing
#endif
#ifdef _FORTIFY_SOURCE
#error _FORTIFY_SOURCE is defined already
#endif
]], [[return 0;]])], [n56_cv_fortify=yes], [n56_cv_fortify=no])])
  AS_VAR_IF([n56_cv_fortify], [yes], [$1="$$1 -D_FORTIFY_SOURCE=2"])
])
