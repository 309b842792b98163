import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli.js';
import type { CliIo } from '../io.js';
import { PLUGINS } from '../provider/generic.js';
import { completeWords, renderCompletionScript, runComplete, type CompletionNames } from './completion.js';

const names: CompletionNames = {
  pods: ['shop/frontend', 'shop/cart-1', 'default/client'],
  services: [
    { id: 'shop/cart', ports: ['8080', 'http'] },
    { id: 'default/web', ports: ['80'] },
  ],
  nodes: ['node-1', 'node-2'],
  namespaces: ['default', 'shop'],
};

function io(): CliIo & { out: () => string } {
  let out = '';
  return {
    out: () => out,
    stdout: (t) => void (out += t),
    stderr: () => undefined,
    env: { NO_COLOR: '1' },
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
}

describe('completeWords', () => {
  it.each([
    { name: 'subcommands first', words: [''], values: ['plugins', 'completion', 'policy', 'capture'], files: false },
    { name: 'long flags', words: ['--pro'], values: ['--protocol', '--proxy-mode'], files: false },
    {
      name: 'a used flag is not offered again',
      words: ['--format', 'json', '--for'],
      values: [],
      files: false,
    },
    {
      name: 'formats',
      words: ['--format', ''],
      values: ['text', 'json', 'dot', 'svg', 'html'],
      files: false,
    },
    { name: 'formats after =', words: ['--format=h'], values: ['--format=html'], files: false },
    {
      name: 'plugin names',
      words: ['--network-plugin', ''],
      values: PLUGINS.map((p) => p.name),
      files: false,
    },
    { name: 'proxy modes', words: ['--proxy-mode', 'ip'], values: ['iptables', 'ipvs'], files: false },
    { name: 'protocols', words: ['--protocol', 'u'], values: ['udp'], files: false },
    { name: 'shells', words: ['completion', 'z'], values: ['zsh'], files: false },
    { name: 'snapshot is a file', words: ['--snapshot', 'ex'], values: [], files: true },
    { name: 'output is a file', words: ['-o', ''], values: [], files: true },
    {
      name: 'endpoint kinds without a snapshot',
      words: ['-s', ''],
      values: ['pod/', 'svc/', 'node/'],
      files: false,
    },
    {
      name: 'pods of the -n namespace, then everywhere',
      words: ['-n', 'shop', '-s', 'pod/'],
      values: ['pod/frontend', 'pod/cart-1', 'pod/shop/frontend', 'pod/shop/cart-1', 'pod/default/client'],
      files: false,
    },
    {
      name: 'Services in default',
      words: ['-d', 'svc/'],
      values: ['svc/web', 'svc/shop/cart', 'svc/default/web'],
      files: false,
    },
    { name: 'nodes', words: ['--source', 'node/'], values: ['node/node-1', 'node/node-2'], files: false },
    { name: 'namespaces', words: ['-n', 's'], values: ['shop'], files: false },
    {
      name: 'ports of the -d Service',
      words: ['-d', 'svc/shop/cart', '-p', ''],
      values: ['8080', 'http'],
      files: false,
    },
    { name: 'no ports for a pod', words: ['-d', 'pod/shop/cart-1', '-p', ''], values: [], files: false },
  ])('$name', ({ name, words, values, files }) => {
    const given = name.includes('without a snapshot') ? undefined : names;
    expect(completeWords(words, given)).toEqual({ values, files });
  });

  it('offers every long flag of skoop --help', async () => {
    const cli = io();
    await runCli(['--help'], cli);
    const flags = [...cli.out().matchAll(/(--[a-z][a-z0-9-]*)/g)].map((m) => m[1] ?? '');
    expect(flags.length).toBeGreaterThan(10);
    const offered = completeWords(['--'], names).values;
    for (const f of new Set(flags)) expect(offered).toContain(f);
  });
});

describe('runComplete', () => {
  it('reads names from the --snapshot on the line and ends with the directive', async () => {
    const snapshot = fileURLToPath(new URL('../../examples/flannel-vxlan-broken.json.gz', import.meta.url));
    const cli = io();
    await runComplete(['--snapshot', snapshot, '-d', 'svc/shop/'], cli);
    expect(cli.out()).toBe('svc/shop/cart\nsvc/shop/frontend\n:4\n');
  });

  it('an unreadable snapshot gives no names, not an error', async () => {
    const cli = io();
    await expect(runComplete(['--snapshot', '/nonexistent.json', '-s', 'pod/'], cli)).resolves.toBe(0);
    expect(cli.out()).toBe('pod/\n:4\n');
  });
});

describe('the bash script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'skoop-completion-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** COMPREPLY for `line` with the cursor at its end, skoop stubbed to record its arguments. */
  function complete(line: string, reply: string): { compreply: string[]; args: string } {
    const stub = join(dir, 'skoop');
    writeFileSync(stub, `#!/bin/sh\nprintf '[%s]' "$@" > "${dir}/args"\nprintf '%b' '${reply}'\n`);
    chmodSync(stub, 0o755);
    const script = `${renderCompletionScript('bash')}
COMP_LINE='${line}'; COMP_POINT=\${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"; [[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=("")
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
_skoop_complete
printf '%s\\n' "\${COMPREPLY[@]}"`;
    const out = execFileSync('bash', ['-c', script], {
      env: { PATH: `${dir}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    return {
      compreply: out.split('\n').filter((l) => l !== ''),
      args: execFileSync('cat', [join(dir, 'args')], { encoding: 'utf8' }).trim(),
    };
  }

  it.each([
    {
      name: 'values',
      line: 'skoop --format ',
      reply: 'text\\njson\\n:4\\n',
      compreply: ['text', 'json'],
      args: '[__complete][--][--format][]',
    },
    {
      name: 'flag=value keeps the part before =',
      line: 'skoop --format=h',
      reply: '--format=html\\n:4\\n',
      compreply: ['html'],
      args: '[__complete][--][--format=h]',
    },
  ])('$name', ({ line, reply, compreply, args }) => {
    const r = complete(line, reply);
    expect(r.compreply).toEqual(compreply);
    expect(r.args).toBe(args);
  });
});

describe('renderCompletionScript', () => {
  it.each([
    { shell: 'bash', has: 'complete -o default -F _skoop_complete skoop kubectl-skoop' },
    { shell: 'zsh', has: 'compdef _skoop skoop kubectl-skoop' },
    { shell: 'fish', has: "complete -c kubectl-skoop -f -a '(__skoop_complete)'" },
  ])('$shell', ({ shell, has }) => {
    const script = renderCompletionScript(shell);
    expect(script).toContain(has);
    expect(script).toContain('__complete --');
    expect(script.endsWith('\n')).toBe(true);
  });

  it('an unknown shell is a usage error', () => {
    expect(() => renderCompletionScript('tcsh')).toThrow(
      expect.objectContaining({ code: 'SHELL_UNKNOWN', exitCode: 2 }),
    );
  });
});
