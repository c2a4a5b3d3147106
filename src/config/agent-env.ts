/**
 * Which names a profile's `env` may give the agent container.
 *
 * Rule: an allow-list pattern, then an explicit deny list.
 *  - Allowed shape: a letter, then letters, digits and `_`, at most 128 characters. This keeps out
 *    names no shell can read and `_`-names (start.sh keeps private state in `_AZP_*`, the JVM reads
 *    `_JAVA_OPTIONS`).
 *  - Denied prefixes: `AZP_` (everything infra/agent/start.sh and start.ps1 read: URL, pool, token,
 *    auth mode, AZP_HOME, AZP_AGENT_DIR, AZP_AGENT_PACKAGE_URL, cleanup, ...: set by the autoscaler
 *    or baked in the image), `VSO_` and `VSTS_` (the agent's own knobs: VSO_AGENT_IGNORE hides the
 *    token from capabilities, VSTS_AGENT_INPUT_* answer config.sh, VSTS_AGENT_HTTPTRACE logs
 *    request headers), and loader/shell injection families (`LD_`, `DYLD_`, `BASH_`, `COR_`,
 *    `CORECLR_`: the agent is a .NET program).
 *  - Denied names: what the start scripts read besides AZP_* (HOSTNAME, COMPUTERNAME, SystemRoot),
 *    and variables that make a shell, the loader or a runtime execute something before the token is
 *    gone (ENV, BASH_ENV, PROMPT_COMMAND, NODE_OPTIONS, DOTNET_STARTUP_HOOKS, ...), or that change
 *    where programs are found (PATH, HOME, ComSpec, ...).
 * Names compare case-insensitively (Windows environment names ignore case).
 */

export const AGENT_ENV_NAME = /^[A-Za-z][A-Za-z0-9_]{0,127}$/;

export const DENIED_ENV_PREFIXES = ['AZP_', 'VSO_', 'VSTS_', 'LD_', 'DYLD_', 'BASH_', 'COR_', 'CORECLR_'] as const;

export const DENIED_ENV_NAMES = [
  // Read by the start scripts besides AZP_*.
  'HOSTNAME',
  'COMPUTERNAME',
  'SYSTEMROOT',
  'BASH',
  // Shell start-up and parsing.
  'ENV',
  'IFS',
  'PS4',
  'PROMPT_COMMAND',
  'SHELLOPTS',
  'BASHOPTS',
  'CDPATH',
  'GLOBIGNORE',
  'SHELL',
  // Where programs, libraries and home are found.
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'GCONV_PATH',
  'LOCPATH',
  'NLSPATH',
  'HOSTALIASES',
  // Runtimes that load code named by a variable.
  'NODE_OPTIONS',
  'NODE_PATH',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PYTHONHOME',
  'PERL5OPT',
  'PERL5LIB',
  'RUBYOPT',
  'JAVA_TOOL_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'DOTNET_STARTUP_HOOKS',
  'DOTNET_ADDITIONAL_DEPS',
  // Windows.
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
  'PSMODULEPATH',
  'PSEXECUTIONPOLICYPREFERENCE',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
  'PROGRAMDATA',
  'TEMP',
  'TMP',
] as const;

/** Why a profile may not set `name`, or undefined when it may. Safe to print with the name. */
export function agentEnvNameProblem(name: string): string | undefined {
  if (!AGENT_ENV_NAME.test(name)) return 'must start with a letter and use only letters, digits and _ (at most 128)';
  const upper = name.toUpperCase();
  const prefix = DENIED_ENV_PREFIXES.find((p) => upper.startsWith(p));
  if (prefix === 'AZP_') return 'is not allowed: AZP_* names belong to the agent image and the autoscaler';
  if (prefix === 'VSO_' || prefix === 'VSTS_')
    return `is not allowed: ${prefix}* names configure the Azure Pipelines agent itself`;
  if (prefix) return `is not allowed: ${prefix}* names change how the loader, shell or agent runtime starts`;
  if ((DENIED_ENV_NAMES as readonly string[]).includes(upper))
    return 'is not allowed: it changes what the agent image runs or where it looks';
  return undefined;
}
