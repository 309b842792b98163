import type { Plugin } from '../plugin/plugin.js';

/** The text of `skoop plugins`: each plugin, its modes, whether it enforces policies, and its flags. */
export function renderPlugins(plugins: readonly Plugin[]): string {
  const lines: string[] = [
    'Network plugins (choose with --network-plugin; detected from the cluster by default):',
    '',
  ];
  for (const p of plugins) {
    lines.push(`${p.name}`);
    lines.push(`  ${p.description}`);
    lines.push(`  modes: ${p.modes.join(', ')}`);
    lines.push(`  enforces NetworkPolicy: ${p.enforcesNetworkPolicy ? 'yes' : 'no'}`);
    if (p.options.length > 0) {
      lines.push('  flags:');
      const width = Math.max(...p.options.map((o) => o.flag.length)) + 10;
      for (const o of p.options)
        lines.push(
          `    ${`--${o.flag} <VALUE>`.padEnd(width)} ${o.description}${o.fallback !== undefined ? ` [fallback: ${o.fallback}]` : ''}`,
        );
    }
    lines.push('');
  }
  lines.push('Aliases: kindnet and ptp → bridge; canal → flannel.');
  return `${lines.join('\n')}\n`;
}
