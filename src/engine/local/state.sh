# cbdash's shell state, installed as /codebuild/output/tmp/state.sh by the build shell's loop
# (see driver.rs). POSIX sh: it runs under dash, bash (as sh or as bash) and busybox ash, and
# forks once (the `$(...)`) and runs no other program, so it works in any image with a shell.
#
# Every 0.2 command sources env.sh first and, from its EXIT trap, calls __cbdash_save, which
# writes every shell variable back to env.sh as `NAME='value'` (`export NAME='value'` for
# exported ones): non-exported variables carry over as on CodeBuild, with their exact bytes.
# Not replayed: readonly variables and the shell's own (the list below). `unset` carries over
# too: a variable of the container's own environment that a command unset is written as
# `unset NAME` (the names, one a line, are in base.sh, written once per build shell by
# __cbdash_base).

# Writes env.sh from the current shell's variables: one `eval` a variable and no other
# program, since this runs after every command. Which names are exported or readonly is
# noted in marker variables (`__cbdash_x_NAME`, `__cbdash_r_NAME`): a `case` search of a
# string of names costs several times more.
__cbdash_save() {
  set +e +u +x +v -f
  if [ -n "${BASH_VERSION-}" ]; then
    # bash 4 and later write their own form, fast (state-bash.sh); else, or when that fails, the
    # POSIX form below. `set` prints assignments (and no functions) in posix mode only.
    if [ "${BASH_VERSINFO-0}" -ge 4 ] && [ -f /codebuild/output/tmp/state-bash.sh ]; then
      shopt -s extglob
      . /codebuild/output/tmp/state-bash.sh && __cbdash_save_bash && return 0
    fi
    set -o posix
  fi
  __cbdash_all=$({ readonly -p; export -p; set; } 2>/dev/null) || return 1
  __cbdash_q="'" IFS='
'
  __cbdash_vars > /codebuild/output/tmp/env.sh
}

# Prints the variables as assignments, a line each. `readonly -p` and `export -p` lines come
# first, so both kinds are known before the variables (`set`'s `NAME=...` lines) are written.
__cbdash_vars() {
  for __cbdash_l in $__cbdash_all; do
    case $__cbdash_l in
      'readonly '*) __cbdash_k=r; __cbdash_l=${__cbdash_l#readonly } ;;
      'export '*) __cbdash_k=x; __cbdash_l=${__cbdash_l#export } ;;
      [A-Za-z_]*=*) __cbdash_k=v ;;
      *) continue ;;
    esac
    __cbdash_n=${__cbdash_l%%=*}
    case $__cbdash_n in
      # The shell's own variables are not replayed.
      [A-Z]*)
        case $__cbdash_n in
          BASH*|OLDPWD|SHLVL|PPID|LINENO|RANDOM|OPTIND|OPTARG|OPTERR|SECONDS|HISTCMD) continue ;;
          SRANDOM|EPOCHREALTIME|EPOCHSECONDS|SHELLOPTS|FUNCNAME|GROUPS|DIRSTACK) continue ;;
          PIPESTATUS|COLUMNS|LINES|UID|EUID|IFS|PS1|PS2|PS4|MAILCHECK|HOSTTYPE) continue ;;
          MACHTYPE|OSTYPE|POSIXLY_CORRECT) continue ;;
        esac ;;
      _|__cbdash_*|*[!A-Za-z0-9_]*) continue ;;
    esac
    if [ $__cbdash_k != v ]; then
      eval "__cbdash_${__cbdash_k}_$__cbdash_n=$__cbdash_k"
      continue
    fi
    # Whether it is readonly (not replayed) or exported.
    eval "__cbdash_k=\${__cbdash_r_$__cbdash_n-}\${__cbdash_x_$__cbdash_n-}"
    case $__cbdash_k in r*) continue ;; x) __cbdash_k='export ' ;; esac
    # dash, ash and bash (posix mode) print a value as one single-quoted word, a `'` in it
    # as `'"'"'` or `'\''`: a line `NAME='...'` with no other `'` is a whole assignment
    # (inside a multi-line value no line can have that form), written as it is. Anything
    # else is quoted here: bash prints plain values unquoted, and a line of a multi-line
    # value may look like one (`HOME=/x`), so an unquoted line is never trusted.
    case $__cbdash_l in
      *=\'*\')
        __cbdash_s=${__cbdash_l#*=\'}
        case ${__cbdash_s%\'} in
          *\'*) ;;
          *) printf '%s%s\n' "$__cbdash_k" "$__cbdash_l"; continue ;;
        esac ;;
    esac
    # The value, after an `x` when set: a line inside a multi-line value may look like
    # `NAME=...`.
    eval "__cbdash_s=\${$__cbdash_n+x\${$__cbdash_n}}"
    case $__cbdash_s in x*) __cbdash_s=${__cbdash_s#x} ;; *) continue ;; esac
    __cbdash_v=
    while :; do
      case $__cbdash_s in
        *"$__cbdash_q"*)
          __cbdash_v=$__cbdash_v${__cbdash_s%%"$__cbdash_q"*}"'\\''"
          __cbdash_s=${__cbdash_s#*"$__cbdash_q"} ;;
        *) break ;;
      esac
    done
    printf "%s%s='%s%s'\n" "$__cbdash_k" "$__cbdash_n" "$__cbdash_v" "$__cbdash_s"
  done
  if [ -f /codebuild/output/tmp/base.sh ]; then
    . /codebuild/output/tmp/base.sh
    for __cbdash_n in $__cbdash_base; do
      eval "[ -n \"\${$__cbdash_n+x}\" ]" || printf 'unset %s\n' "$__cbdash_n"
    done
  fi
}

# Writes base.sh: the names the build shell's own environment exports (the container's).
__cbdash_base() {
  set -f
  __cbdash_base= IFS='
'
  for __cbdash_l in $(export -p); do
    case $__cbdash_l in
      'export '*) __cbdash_l=${__cbdash_l#export }; __cbdash_l=${__cbdash_l%%=*}
        case $__cbdash_l in *[!A-Za-z0-9_]*|'') ;; *) __cbdash_base="$__cbdash_base$__cbdash_l
" ;; esac ;;
    esac
  done
  printf "__cbdash_base='%s'\n" "$__cbdash_base" > /codebuild/output/tmp/base.sh
}
