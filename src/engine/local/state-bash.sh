# cbdash's shell state under bash 4 or later, installed as /codebuild/output/tmp/state-bash.sh
# beside state.sh and sourced by its __cbdash_save. It writes the same state as the generic
# save, in bash's own `declare` form (only bash reads it back), with builtins that do the
# work in C: the shell's own variables are unset in this exiting shell, `compgen -v` lists
# the rest, one short loop drops the readonly ones, and one `declare -p` prints the others.
# The generic loop over `set`'s lines costs bash about 60 M instructions a command.
__cbdash_save_bash() {
  # Not replayed: the shell's own variables (the generic save's list). Readonly ones stay.
  unset -v OLDPWD SHLVL LINENO RANDOM OPTIND OPTARG OPTERR SECONDS HISTCMD SRANDOM \
    EPOCHREALTIME EPOCHSECONDS FUNCNAME GROUPS DIRSTACK PIPESTATUS COLUMNS LINES IFS PS1 PS2 \
    PS4 MAILCHECK HOSTTYPE MACHTYPE OSTYPE POSIXLY_CORRECT "${!BASH@}" 2>/dev/null
  # Listed before any variable of ours is set, so none of them is in the list.
  compgen -v > /codebuild/output/tmp/names.tmp 2>/dev/null || return 1
  readonly -p > /codebuild/output/tmp/readonly.tmp 2>/dev/null || return 1
  mapfile -t __cbdash_n < /codebuild/output/tmp/names.tmp || return 1
  mapfile -t __cbdash_r < /codebuild/output/tmp/readonly.tmp || return 1
  # Readonly names, from `readonly NAME=...` (posix mode) or `declare -r NAME=...` lines; a
  # line inside a multi-line value may add a name, which then is not replayed.
  __cbdash_r=("${__cbdash_r[@]#readonly }")
  __cbdash_r=("${__cbdash_r[@]#declare -+([a-zA-Z]) }")
  __cbdash_r=("${__cbdash_r[@]%%=*}")
  declare -A __cbdash_ro=()
  for __cbdash_l in "${__cbdash_r[@]}"; do
    [[ $__cbdash_l == +([A-Za-z0-9_]) ]] && __cbdash_ro[$__cbdash_l]=1
  done
  __cbdash_k=()
  for __cbdash_l in "${__cbdash_n[@]}"; do
    case $__cbdash_l in _|__cbdash*|BASH*) continue ;; esac
    [[ -n ${__cbdash_ro[$__cbdash_l]-} ]] || __cbdash_k+=("$__cbdash_l")
  done
  {
    [ "${#__cbdash_k[@]}" -eq 0 ] || declare -p "${__cbdash_k[@]}"
    if [ -f /codebuild/output/tmp/base.sh ]; then
      . /codebuild/output/tmp/base.sh
      local IFS=$'\n'
      for __cbdash_l in $__cbdash_base; do
        [ -n "${!__cbdash_l+x}" ] || printf 'unset %s\n' "$__cbdash_l"
      done
    fi
  } > /codebuild/output/tmp/env.sh 2>/dev/null
}
