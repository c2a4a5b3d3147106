/**
 * The Windows agent image (infra/agent/windows/) without Windows: PowerShell and Docker cannot run
 * here. start.ps1 and fetch-agent.ps1 are parsed with the real PowerShell grammar
 * (tree-sitter-powershell's WebAssembly build on web-tree-sitter: no native binding, nothing compiled
 * at install) and their syntax trees are checked
 * against start.sh's contract: the variables both read, where the secret may flow, --once, exit
 * codes. What only a Windows build and run shows: infra/agent/README.md.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser, type Node, type Tree } from 'web-tree-sitter';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './harness.js';

const AGENT = path.join(REPO_ROOT, 'infra', 'agent');
const WIN = path.join(AGENT, 'windows');
const read = (...p: string[]) => readFileSync(path.join(...p), 'utf8');

// tree-sitter-powershell 0.26.4 ships tree-sitter-powershell.wasm (language ABI 15, which
// web-tree-sitter 0.25 loads: it accepts ABI 13 to 15).
await Parser.init();
const parser = new Parser();
parser.setLanguage(
  await Language.load(createRequire(import.meta.url).resolve('tree-sitter-powershell/tree-sitter-powershell.wasm')),
);

function parse(source: string): Tree {
  const tree = parser.parse(source);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}

function nodes(root: Node, pred: (n: Node) => boolean): Node[] {
  const out: Node[] = [];
  const walk = (n: Node) => {
    if (pred(n)) out.push(n);
    for (const c of n.children) if (c) walk(c);
  };
  walk(root);
  return out;
}

const where = (n: Node) => `${n.startPosition.row + 1}:${n.startPosition.column + 1} ${n.text.slice(0, 60)}`;
const syntaxErrors = (tree: Tree) => nodes(tree.rootNode, (n) => n.type === 'ERROR' || n.isMissing).map(where);

function ancestors(n: Node): Node[] {
  const out: Node[] = [];
  for (let p = n.parent; p; p = p.parent) out.push(p);
  return out;
}

const START_PS1 = read(WIN, 'start.ps1');
const START_SH = read(AGENT, 'start.sh');
const tree = parse(START_PS1);

/** `$env:NAME` / `${env:NAME}` references of a PowerShell tree (in strings too). */
function envReads(t: Tree): Set<string> {
  const names = nodes(t.rootNode, (n) => n.type === 'variable' || n.type === 'braced_variable')
    .map((n) => /^\$\{?env:([A-Za-z_][A-Za-z0-9_]*)\}?$/i.exec(n.text)?.[1])
    .filter((n): n is string => !!n);
  return new Set(names);
}

/** Environment variables start.sh reads: every AZP_* name in its code (directly or by name, as in
 * `check_secret AZP_TOKEN AZP_TOKEN_FILE`), VSO_AGENT_IGNORE and HOSTNAME. Comments are dropped. */
function shellReads(source: string): Set<string> {
  const code = source
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n');
  return new Set(
    [...code.matchAll(/(?<![A-Za-z0-9_])(_AZP_START_STAGE|AZP_[A-Z0-9_]+|VSO_AGENT_IGNORE|HOSTNAME)\b/g)].map(
      (m) => m[1]!,
    ),
  );
}

/** Deliberately one-sided, with the reason (also in infra/agent/README.md's table). */
const ONLY_LINUX: Record<string, string> = {
  HOSTNAME: 'the default agent name; Windows has COMPUTERNAME',
};
const ONLY_WINDOWS: Record<string, string> = {
  COMPUTERNAME: 'the default agent name; Linux has HOSTNAME',
  SystemRoot: 'where cmd.exe is',
};

describe('start.ps1 and fetch-agent.ps1 parse as PowerShell (tree-sitter-powershell)', () => {
  it.each(['start.ps1', 'fetch-agent.ps1'])('%s has no ERROR or MISSING node', (file) => {
    const t = parse(read(WIN, file));
    expect(t.rootNode.type).toBe('program');
    expect(syntaxErrors(t)).toEqual([]);
    expect(
      nodes(t.rootNode, (n) => n.type === 'function_statement').length +
        nodes(t.rootNode, (n) => n.type === 'command').length,
    ).toBeGreaterThan(5);
  });

  it('the check can fail: a broken script has ERROR nodes', () => {
    expect(syntaxErrors(parse('if ($x) { Write-Host "a" \nfunction f( { }'))).not.toEqual([]);
  });
});

describe('start.ps1 keeps start.sh contract', () => {
  it('reads every variable start.sh reads and no other, except the listed one-sided ones', () => {
    const ps = envReads(tree);
    const sh = shellReads(START_SH);
    expect(sh.size).toBeGreaterThan(20);
    const missingOnWindows = [...sh].filter((v) => !ps.has(v) && !(v in ONLY_LINUX)).sort();
    const missingOnLinux = [...ps].filter((v) => !sh.has(v) && !(v in ONLY_WINDOWS)).sort();
    expect({ missingOnWindows, missingOnLinux }).toEqual({ missingOnWindows: [], missingOnLinux: [] });
    // The one-sided lists hold no stale entries.
    expect(Object.keys(ONLY_LINUX).filter((v) => !sh.has(v) || ps.has(v))).toEqual([]);
    expect(Object.keys(ONLY_WINDOWS).filter((v) => !ps.has(v) || sh.has(v))).toEqual([]);
  });

  it('documents every variable it reads in infra/agent/README.md', () => {
    const readme = read(AGENT, 'README.md');
    const internal = new Set(['SystemRoot', 'COMPUTERNAME', '_AZP_START_STAGE']);
    expect([...envReads(tree)].filter((v) => !internal.has(v) && !readme.includes(`\`${v}\``))).toEqual([]);
  });

  it('puts no secret on a command line: the secret flows only into one child environment block', () => {
    // No command-line option of the agent that carries a secret.
    expect(START_PS1).not.toMatch(/--(token|password|clientSecret)\b/i);
    const secretRefs = nodes(
      tree.rootNode,
      (n) =>
        n.type === 'variable' && /^\$(script:)?(Secret|basic)$|^\$env:(AZP_TOKEN|AZP_SP_CLIENT_SECRET)$/i.test(n.text),
    );
    expect(secretRefs.length).toBeGreaterThan(3);
    // Never an argument of a command (cmdlet, function or external program).
    // (Invoke-RestMethod is in-process: the Basic header of the slim image's package lookup.)
    const commandOf = (n: Node) => ancestors(n).find((a) => a.type === 'command');
    const inCommand = secretRefs.filter((n) => ancestors(n).some((a) => a.type === 'command_elements'));
    expect(
      inCommand
        .filter(
          (n) =>
            !/^Invoke-RestMethod -UseBasicParsing -Headers @\{ Authorization = "Basic \$basic" \}/.test(
              commandOf(n)?.text ?? '',
            ),
        )
        .map(where),
    ).toEqual([]);
    expect(inCommand).toHaveLength(1);
    // Never near ProcessStartInfo.Arguments; the only child that gets it is through EnvironmentVariables.
    const statements = secretRefs.map(
      (n) => ancestors(n).find((a) => a.type === 'pipeline' && a.parent?.type === 'statement_list') ?? n,
    );
    expect(statements.filter((s) => /\.Arguments\b/.test(s.text)).map(where)).toEqual([]);
    const childEnv = statements.filter((s) => /EnvironmentVariables\[/.test(s.text));
    expect(childEnv.map((s) => s.text)).toEqual(['$psi.EnvironmentVariables[$SecretInput] = $script:Secret']);
    // The secret variables are removed from this process's environment before any child starts.
    const removal = START_PS1.indexOf("SetEnvironmentVariable($name, $null, 'Process')");
    expect(removal).toBeGreaterThan(0);
    expect(removal).toBeLessThan(START_PS1.indexOf('function Start-AgentScript'));
    expect(START_PS1).toMatch(
      /foreach \(\$name in @\('AZP_TOKEN', 'AZP_TOKEN_FILE', 'AZP_SP_CLIENT_SECRET', 'AZP_SP_CLIENT_SECRET_FILE'\)\)/,
    );
  });

  it('the job never runs under a process that held the token: a setup stage reads it, registers and exits', () => {
    // Windows has no exec, and a container lives as long as its first process: that process
    // ("main") runs the agent, so it must never read the token. A fresh powershell.exe running this
    // script as the "setup" stage inherits the environment block as the OS holds it, reads the
    // token, runs config.cmd and exits; only then does main start run.cmd (issue 21, finding 5).
    const fn = (name: string) => {
      const f = nodes(
        tree.rootNode,
        (n) => n.type === 'function_statement' && new RegExp(`^function ${name}\\b`).test(n.text),
      );
      expect(f, name).toHaveLength(1);
      return f[0]!;
    };
    const inside = (n: Node, f: Node) =>
      ancestors(n).some((a) => a.startIndex === f.startIndex && a.endIndex === f.endIndex);
    // The stage comes from an internal variable that is cleared at once, as start.sh's _AZP_START_STAGE.
    expect(START_PS1).toContain("[Environment]::SetEnvironmentVariable('_AZP_START_STAGE', $null, 'Process')");
    // Every read of a secret variable or file is guarded: never in the main stage.
    const secretReads = [
      ...nodes(
        tree.rootNode,
        (n) => n.type === 'variable' && /^\$env:(AZP_TOKEN|AZP_SP_CLIENT_SECRET)(_FILE)?$/i.test(n.text),
      ),
      ...nodes(
        tree.rootNode,
        (n) => n.type === 'command' && n.childForFieldName('command_name')?.text === 'Read-SecretFile',
      ),
    ];
    expect(secretReads.length).toBeGreaterThan(5);
    // Guarded: under `if ($Stage -ne 'main')`, or in a function every call of which is guarded.
    const calls = (name: string) =>
      nodes(tree.rootNode, (n) => n.type === 'command' && n.childForFieldName('command_name')?.text === name);
    const guarded = (n: Node): boolean =>
      ancestors(n).some((a) => a.type === 'if_statement' && /^if \(\$Stage -ne 'main'\)/.test(a.text)) ||
      ancestors(n).some((a) => {
        const name = a.type === 'function_statement' ? /^function ([\w-]+)/.exec(a.text)?.[1] : undefined;
        return name !== undefined && calls(name).length > 0 && calls(name).every(guarded);
      });
    expect(secretReads.filter((n) => !guarded(n)).map(where)).toEqual([]);
    // Main: starts the setup stage, drops the secret variables from its own environment (unless
    // AZP_UNREGISTER_ON_EXIT keeps them), waits for setup to exit, and only then starts run.cmd.
    const main = fn('Invoke-MainStage');
    expect(main.text).not.toMatch(/\$script:Secret|Read-SecretFile|-WithSecret|\$env:AZP_(TOKEN|SP_CLIENT_SECRET)/);
    const at = (re: RegExp) => main.text.search(re);
    expect(at(/\$setup = Start-Stage 'setup'/)).toBeGreaterThan(0);
    expect(at(/if \(-not \$UnregisterOnExit\) \{ Remove-SecretVariables \}/)).toBeGreaterThan(
      at(/Start-Stage 'setup'/),
    );
    expect(at(/Wait-AgentScript \$setup/)).toBeGreaterThan(at(/Remove-SecretVariables/));
    expect(at(/Start-AgentScript 'run\.cmd'/)).toBeGreaterThan(at(/Wait-AgentScript \$setup/));
    // run.cmd is started by main only, and never with the secret.
    const runs = nodes(tree.rootNode, (n) => n.type === 'command' && /^Start-AgentScript 'run\.cmd'/.test(n.text));
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.filter((n) => !inside(n, main) || /-WithSecret/.test(n.text)).map(where)).toEqual([]);
    // The setup stage is this script again in a fresh process, inheriting the OS environment block
    // (ProcessStartInfo.EnvironmentVariables untouched: no copy of the token in main's memory).
    const stage = fn('Start-Stage');
    expect(stage.text).toMatch(/powershell\.exe/);
    expect(stage.text).toMatch(/-File "' \+ \$PSCommandPath/);
    expect(stage.text).not.toMatch(/EnvironmentVariables/);
    // Main is dispatched before the setup code; setup ends right after config.cmd, without a job.
    const dispatch = START_PS1.indexOf("if ($Stage -eq 'main') { Invoke-MainStage }");
    const config = START_PS1.indexOf("Start-AgentScript 'config.cmd' $configArgs -WithSecret");
    expect(dispatch).toBeGreaterThan(START_PS1.indexOf('function Invoke-MainStage'));
    expect(config).toBeGreaterThan(dispatch);
    expect(START_PS1.slice(config)).toMatch(/^[^]*?Clear-Secret\s*\n[^]*?Exit-Agent 0\s*$/);
    // A child started without the secret never inherits a secret variable (AZP_UNREGISTER_ON_EXIT=1 keeps them in main).
    expect(fn('Start-AgentScript').text).toMatch(/EnvironmentVariables\.Remove\(\$name\)/);
  });

  it('adds --once in once mode, as start.sh does, and runs nothing in placeholder mode', () => {
    const once = nodes(tree.rootNode, (n) => n.type === 'verbatim_string_characters' && n.text === "'--once'");
    expect(once.length).toBeGreaterThanOrEqual(1);
    expect(START_SH).toMatch(/RUN_ARGS\+=\(--once\)/);
    const placeholder = START_PS1.indexOf("if ($RunMode -eq 'placeholder')");
    expect(placeholder).toBeGreaterThan(0);
    expect(placeholder).toBeLessThan(START_PS1.indexOf("Start-AgentScript 'run.cmd'"));
  });

  it('exits only with the documented codes, the same as start.sh', () => {
    const codes = Object.fromEntries(
      [...START_PS1.matchAll(/^\$(EX_[A-Z_]+) = (\d+)/gm)].map((m) => [m[1]!, Number(m[2])]),
    );
    expect(codes).toEqual({ EX_USAGE: 1, EX_CLEANUP_FAILED: 75, EX_INT: 130, EX_TERM: 143 });
    const sh = Object.fromEntries(
      [...START_SH.matchAll(/^readonly (EX_[A-Z_]+)=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]),
    );
    for (const [k, v] of Object.entries(sh)) expect(codes[k], k).toBe(v);
    expect(START_SH).toContain("trap 'on_signal INT' INT");
    expect(START_SH).toContain("trap 'on_signal TERM' TERM");
    expect(START_SH).toMatch(/INT\) finish 130 ;;/);
    expect(START_SH).toMatch(/\*\) finish 143 ;;/);
    // Every exit goes through the constants or Exit-Agent's $Code; Exit-Agent gets 0, the agent's code or a stop code.
    const exits = nodes(tree.rootNode, (n) => n.type === 'flow_control_statement' && /^exit\b/i.test(n.text)).map(
      (n) => n.text,
    );
    expect(new Set(exits)).toEqual(new Set(['exit $EX_USAGE', 'exit $Code']));
    const exitArgs = nodes(
      tree.rootNode,
      (n) => n.type === 'command' && n.childForFieldName('command_name')?.text === 'Exit-Agent',
    ).map((n) => n.text.replace(/^Exit-Agent\s+/, ''));
    expect(new Set(exitArgs)).toEqual(new Set(['0', '$rc', '(Get-StopExitCode)']));
    // ...and README's exit-code paragraph names each of them.
    const readme = read(AGENT, 'README.md');
    for (const c of [0, 1, 4, 75, 130, 143]) expect(readme).toContain(`\`${c}\``);
  });

  it('restarts after exit code 4 a bounded number of times, like start.sh', () => {
    expect(START_PS1).toMatch(/if \(\$rc -eq 4 -and \$restarts -lt \$UpdateRestarts\)/);
    expect(START_SH).toMatch(/if \(\(rc == 4 && restarts < UPDATE_RESTARTS\)\)/);
  });
});

/** Dockerfile instructions with continuation lines (the `escape=\`` directive) joined and comments dropped. */
function instructions(text: string, escape: string): { op: string; args: string }[] {
  return text
    .replaceAll(`${escape}\n`, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      return { op: (m?.[1] ?? l).toUpperCase(), args: (m?.[2] ?? '').replace(/\s+/g, ' ') };
    });
}

describe('Windows Dockerfile (structure only; building it needs Windows)', () => {
  const text = read(WIN, 'Dockerfile');
  const ins = instructions(text, '`');

  it('Server Core LTSC 2022, runtime → slim and baked, non-root, start.ps1 as the exec-form entrypoint', () => {
    expect(text.split('\n')[0]).toBe('# escape=`');
    expect(ins.filter((i) => i.op === 'FROM').map((i) => i.args)).toEqual([
      'mcr.microsoft.com/windows/servercore:ltsc2022 AS runtime',
      'runtime AS slim',
      'runtime AS baked',
    ]);
    const users = ins.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.at(-1)).toBe('ContainerUser');
    const slim = ins.findIndex((i) => i.args === 'runtime AS slim');
    expect(
      ins
        .slice(0, slim)
        .filter((i) => i.op === 'USER')
        .at(-1)?.args,
    ).toBe('ContainerUser');
    const entrypoint = ins.find((i) => i.op === 'ENTRYPOINT');
    expect(JSON.parse(entrypoint?.args ?? 'null')).toEqual([
      'powershell.exe',
      '-NoLogo',
      '-NoProfile',
      '-ExecutionPolicy',
      'Bypass',
      '-File',
      'C:\\azp\\start.ps1',
    ]);
  });

  it('bakes the same agent version as the Linux image, and requires its SHA-256 as a build argument', () => {
    const linux = read(AGENT, 'Dockerfile');
    const linuxVersion = /ARG AGENT_VERSION=(\S+)/.exec(linux)?.[1];
    expect(linuxVersion).toMatch(/^\d+\.\d+\.\d+$/);
    const args = Object.fromEntries(
      ins.filter((i) => i.op === 'ARG').map((i) => i.args.split('=') as [string, string]),
    );
    expect(args).toMatchObject({ AGENT_VERSION: linuxVersion, AGENT_SHA256: '', AGENT_PLATFORM: 'win-x64' });
    const fetch = ins.find((i) => i.op === 'RUN' && i.args.includes('fetch-agent.ps1'));
    expect(fetch?.args).toContain('-Version $env:AGENT_VERSION -Sha256 $env:AGENT_SHA256');
    expect(ins.at(-1)).toEqual({ op: 'ENV', args: 'AZP_AGENT_BAKED_VERSION=${AGENT_VERSION}' });
    // fetch-agent.ps1 refuses a missing or malformed checksum before downloading.
    const fetchPs1 = read(WIN, 'fetch-agent.ps1');
    expect(fetchPs1.indexOf("-notmatch '^[0-9a-fA-F]{64}$'")).toBeLessThan(fetchPs1.indexOf('Invoke-WebRequest'));
    expect(fetchPs1).toMatch(/Get-FileHash -Algorithm SHA256/);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    const ignore = read(WIN, '.dockerignore').split('\n');
    const sources = ins
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .map((i) => i.args.split(' ')[0]!);
    expect(sources.sort()).toEqual(['fetch-agent.ps1', 'start.ps1']);
    for (const src of sources) expect(ignore).toContain(`!${src}`);
  });
});

describe('acr-build.mjs (the azd hook step for the Windows image) against a fake az', () => {
  const script = path.join(WIN, 'acr-build.mjs');

  /** Runs `acr-build.mjs <args>` with a fake az that records every call (one line each, arguments
   * joined by "|") and answers `acr repository show` with success when FAKE_AZ_IMAGES lists the
   * image. `file` is the script (or its copy beside copies of the files the tag reads). */
  async function runHook(extra: Record<string, string>, argv: string[] = ['build'], cwd = REPO_ROOT, file = script) {
    const { mkdtemp, writeFile, readFile, rm, chmod } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { execFile } = await import('node:child_process');
    const dir = await mkdtemp(path.join(tmpdir(), 'acr-build-test-'));
    try {
      const az = path.join(dir, 'az');
      await writeFile(
        az,
        [
          '#!/usr/bin/env bash',
          '(IFS="|"; printf "%s\\n" "$*") >> "$(dirname "$0")/calls"',
          'if [ "$1 $2 $3" = "acr repository show" ]; then',
          '  while [ $# -gt 0 ]; do if [ "$1" = --image ]; then printf "%s\\n" $FAKE_AZ_IMAGES | grep -qxF "$2"; exit; fi; shift; done',
          'fi',
          'exit "${FAKE_AZ_EXIT:-0}"',
          '',
        ].join('\n'),
      );
      await chmod(az, 0o755);
      const env = { PATH: `${dir}:${process.env.PATH ?? ''}`, ...extra };
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [file, ...argv], { cwd, env, timeout: 20_000 }, (e, out) =>
          resolve({ code: e ? Number(e.code ?? 1) : 0, stdout: String(out) }),
        );
      });
      const calls = await readFile(path.join(dir, 'calls'), 'utf8').then(
        (t) => t.trimEnd().split('\n'),
        () => [] as string[],
      );
      const build = calls.find((c) => c.startsWith('acr|build|'));
      return { code, stdout, calls, args: build?.split('|') };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const outputs = {
    AZURE_CONTAINER_REGISTRY_NAME: 'contosoacr',
    AGENT_IMAGE_NAME: 'azp-agent',
    AGENT_IMAGE_TAG_WINDOWS: '4.269.0-0123456789ab-windows',
  };
  const SHA = 'ab'.repeat(32);

  it('does nothing without AZP_WINDOWS_AGENT_SHA256', async () => {
    expect(await runHook(outputs)).toMatchObject({ code: 0, calls: [] });
  });

  it('builds infra/agent/windows for --platform windows with the checksum under AGENT_IMAGE_TAG_WINDOWS, and passes az failures on', async () => {
    const r = await runHook({ ...outputs, AZP_WINDOWS_AGENT_SHA256: SHA });
    expect(r.code).toBe(0);
    expect(r.args).toEqual([
      'acr',
      'build',
      '--registry',
      'contosoacr',
      '--platform',
      'windows',
      '--image',
      'azp-agent:4.269.0-0123456789ab-windows',
      '--build-arg',
      `AGENT_SHA256=${SHA}`,
      '--file',
      'infra/agent/windows/Dockerfile',
      'infra/agent/windows',
      '--output',
      'none',
    ]);
    expect((await runHook({ ...outputs, AZP_WINDOWS_AGENT_SHA256: SHA, FAKE_AZ_EXIT: '3' })).code).toBe(3);
  });

  it('builds nothing when the tag is in the registry already (a content tag is never rebuilt: tags stay immutable)', async () => {
    const r = await runHook({
      ...outputs,
      AZP_WINDOWS_AGENT_SHA256: SHA,
      FAKE_AZ_IMAGES: 'azp-agent:4.269.0-0123456789ab-windows',
    });
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([
      'acr|repository|show|--name|contosoacr|--image|azp-agent:4.269.0-0123456789ab-windows|--output|none',
    ]);
  });

  it('with PRIVATE_NETWORKING stops before a build ACR Tasks cannot run (task agent pools are Linux-only) and says what to do', async () => {
    const r = await runHook({
      ...outputs,
      AZP_WINDOWS_AGENT_SHA256: SHA,
      PRIVATE_NETWORKING: 'true',
      ACR_AGENT_POOL: 'agents',
    });
    expect(r.code).toBe(1);
    expect(r.args).toBeUndefined();
    // An image pushed by hand under that tag is used as it is.
    const pushed = await runHook({
      ...outputs,
      AZP_WINDOWS_AGENT_SHA256: SHA,
      PRIVATE_NETWORKING: 'true',
      FAKE_AZ_IMAGES: 'azp-agent:4.269.0-0123456789ab-windows',
    });
    expect(pushed).toMatchObject({ code: 0, args: undefined });
  });

  it('refuses a malformed checksum and missing outputs without calling az', async () => {
    expect(await runHook({ ...outputs, AZP_WINDOWS_AGENT_SHA256: 'abc' })).toMatchObject({ code: 1, calls: [] });
    expect(await runHook({ AZP_WINDOWS_AGENT_SHA256: SHA })).toMatchObject({ code: 1, calls: [] });
    expect(await runHook({ ...outputs, AZP_WINDOWS_AGENT_SHA256: SHA }, [])).toMatchObject({ code: 2, calls: [] });
  });

  describe('tag: <agent version>-<hash of the Windows image inputs>-windows', () => {
    const LINUX_INPUTS = ['Dockerfile', '.dockerignore', 'start.sh', 'fetch-agent.sh'].map((f) => `infra/agent/${f}`);
    const WINDOWS_INPUTS = ['Dockerfile', '.dockerignore', 'start.ps1', 'fetch-agent.ps1'].map(
      (f) => `infra/agent/windows/${f}`,
    );

    /** The tag acr-build.mjs prints in a copy of the repository's image files and docs, `edit` applied. */
    async function tagOf(edit: (dir: string) => void = () => {}, env: Record<string, string> = {}): Promise<string> {
      const { mkdtempSync, mkdirSync, copyFileSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(path.join(tmpdir(), 'win-tag-'));
      try {
        const copy = 'infra/agent/windows/acr-build.mjs';
        for (const f of [copy, ...LINUX_INPUTS, ...WINDOWS_INPUTS, 'README.md', 'infra/agent/README.md']) {
          mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
          copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
        }
        edit(dir);
        const r = await runHook(env, ['tag'], dir, path.join(dir, copy));
        expect(r.code).toBe(0);
        expect(r.calls).toEqual([]);
        return r.stdout.trim();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    const append = (f: string) => (d: string) => appendFileSync(path.join(d, f), '\n# changed\n');

    it('a docs-only or Linux-only change keeps it; a change to any Windows input, the agent version or the checksum does not', async () => {
      const base = await tagOf();
      expect(base).toMatch(/^4\.\d{3}\.\d+-[0-9a-f]{12}-windows$/);
      expect(await tagOf(append('README.md'))).toBe(base);
      expect(await tagOf(append('infra/agent/README.md'))).toBe(base);
      for (const f of LINUX_INPUTS) expect(await tagOf(append(f)), f).toBe(base);
      for (const f of WINDOWS_INPUTS) expect(await tagOf(append(f)), f).not.toBe(base);
      // The build arguments are inputs too: another checksum or version is another image.
      const withSha = await tagOf(undefined, { AZP_WINDOWS_AGENT_SHA256: SHA });
      expect(withSha).not.toBe(base);
      expect(await tagOf(undefined, { AZP_WINDOWS_AGENT_SHA256: SHA.toUpperCase() })).toBe(withSha);
      expect(await tagOf(undefined, { AZP_WINDOWS_AGENT_SHA256: SHA, AZP_WINDOWS_AGENT_VERSION: '4.270.1' })).toMatch(
        /^4\.270\.1-[0-9a-f]{12}-windows$/,
      );
      // A CRLF checkout (PowerShell files often are) hashes the same.
      const crlf = (f: string) => (d: string) =>
        writeFileSync(path.join(d, f), readFileSync(path.join(d, f), 'utf8').replace(/\r?\n/g, '\r\n'));
      expect(await tagOf(crlf('infra/agent/windows/start.ps1'))).toBe(base);
    });

    it('stops when a Windows profile in main.parameters.json has no image and nothing would build one (POOLS would name a tag never pushed)', async () => {
      const { mkdtempSync, mkdirSync, copyFileSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const dir = mkdtempSync(path.join(tmpdir(), 'win-tag-'));
      try {
        const copy = 'infra/agent/windows/acr-build.mjs';
        for (const f of [copy, ...WINDOWS_INPUTS, 'infra/main.parameters.json']) {
          mkdirSync(path.join(dir, path.dirname(f)), { recursive: true });
          copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
        }
        const tag = (env: Record<string, string> = {}) => runHook(env, ['tag'], dir, path.join(dir, copy));
        expect((await tag()).code).toBe(0); // the shipped parameters: Linux only
        const file = path.join(dir, 'infra/main.parameters.json');
        const params = JSON.parse(readFileSync(file, 'utf8')) as { parameters: { pools: { value: object[] } } };
        const win = { name: 'win', pool: 'aci-win', os: 'Windows', cpu: 2, memoryGb: 4 };
        writeFileSync(
          file,
          JSON.stringify({
            ...params,
            parameters: { ...params.parameters, pools: { value: [...params.parameters.pools.value, win] } },
          }),
        );
        const refused = await tag();
        expect(refused.code).toBe(1);
        expect(refused.stdout).toBe('');
        expect((await tag({ AZP_WINDOWS_AGENT_SHA256: SHA })).code).toBe(0);
        writeFileSync(
          file,
          JSON.stringify({
            ...params,
            parameters: { ...params.parameters, pools: { value: [{ ...win, image: 'contoso.azurecr.io/mine:1' }] } },
          }),
        );
        expect((await tag()).code).toBe(0); // its own image: nothing to build
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('hashes exactly the files the Windows .dockerignore lets into the build context, and the Dockerfile', () => {
      const allowed = read(WIN, '.dockerignore')
        .split('\n')
        .filter((l) => l.startsWith('!'))
        .map((l) => l.slice(1).trim());
      const hashed = /const INPUTS = \[([^\]]*)\]/
        .exec(read(WIN, 'acr-build.mjs'))![1]!
        .match(/'[^']+'/g)!
        .map((s) => s.slice(1, -1));
      expect(hashed.sort()).toEqual(['.dockerignore', 'Dockerfile', ...allowed].sort());
    });
  });

  it('both provision hooks run it: preprovision sets the tag and builds on a later deploy, postprovision builds (first deploy)', () => {
    for (const hook of ['infra/hooks/preprovision.sh', 'infra/hooks/preprovision.ps1']) {
      const text = readFileSync(path.join(REPO_ROOT, hook), 'utf8');
      expect(text.match(/node infra\/agent\/windows\/acr-build\.mjs tag\b/gm), hook).toHaveLength(1);
      expect(text.match(/node infra\/agent\/windows\/acr-build\.mjs build$/gm), hook).toHaveLength(1);
      expect(text, hook).toMatch(/azd env set AGENT_IMAGE_TAG_WINDOWS/);
    }
    for (const hook of ['infra/hooks/postprovision.sh', 'infra/hooks/postprovision.ps1']) {
      const text = readFileSync(path.join(REPO_ROOT, hook), 'utf8');
      expect(text.match(/^node infra\/agent\/windows\/acr-build\.mjs build$/gm), hook).toHaveLength(1);
    }
  });
});

describe('the provision hooks parse as PowerShell (tree-sitter-powershell)', () => {
  it.each(['preprovision.ps1', 'postprovision.ps1', 'agent-image.ps1'])(
    'infra/hooks/%s has no ERROR or MISSING node',
    (file) => {
      const t = parse(read(REPO_ROOT, 'infra', 'hooks', file));
      expect(syntaxErrors(t)).toEqual([]);
    },
  );
});
