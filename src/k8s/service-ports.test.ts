import { describe, expect, it } from 'vitest';
import { SkoopError } from '../errors.js';
import { pod, svc } from '../../test/fixtures/k8s/builders.js';
import type { Pod, ServicePort } from './objects.js';
import { describeServicePorts, findContainerPort, findServicePort, lookupServicePort, resolveTargetPort } from './service-ports.js';

const web = svc({
  name: 'web',
  clusterIP: '10.96.0.5',
  ports: [
    { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' },
    { name: 'metrics', port: 9090, targetPort: 9090, protocol: 'TCP' },
  ],
});
const dns = svc({
  ns: 'kube-system',
  name: 'kube-dns',
  clusterIP: '10.96.0.10',
  ports: [
    { name: 'dns', port: 53, targetPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, targetPort: 53, protocol: 'TCP' },
  ],
});
const unnamed = svc({ name: 'single', clusterIP: '10.96.0.6', ports: [{ port: 5432 }] });

function thrown(fn: () => unknown): SkoopError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SkoopError) return err;
    throw err;
  }
  throw new Error('expected a SkoopError');
}

describe('findServicePort', () => {
  it.each([
    { name: 'by number', service: web, port: 80 as number | string, protocol: undefined, want: 'http' },
    { name: 'by numeric string', service: web, port: '9090', protocol: undefined, want: 'metrics' },
    { name: 'by name', service: web, port: 'metrics', protocol: undefined, want: 'metrics' },
    { name: 'protocol in any case', service: web, port: 80, protocol: 'tcp', want: 'http' },
    { name: 'number over two protocols, with protocol', service: dns, port: 53, protocol: 'udp', want: 'dns' },
    { name: 'unnamed port, protocol defaulted to TCP', service: unnamed, port: 5432, protocol: 'TCP', want: undefined },
  ])('$name', ({ service, port, protocol, want }) => {
    const found = findServicePort(service, port, protocol);
    expect(found.name).toBe(want);
  });

  it.each([
    { name: 'unknown number', service: web, port: 8080 as number | string, protocol: undefined, code: 'SERVICE_PORT_NOT_FOUND', message: 'port 8080 not found: service default/web has ports: http(80/TCP), metrics(9090/TCP)' },
    { name: 'unknown name', service: web, port: 'https', protocol: undefined, code: 'SERVICE_PORT_NOT_FOUND', message: 'port https not found: service default/web has ports: http(80/TCP), metrics(9090/TCP)' },
    { name: 'wrong protocol', service: web, port: 80, protocol: 'udp', code: 'SERVICE_PORT_NOT_FOUND', message: 'port 80/UDP not found: service default/web has ports: http(80/TCP), metrics(9090/TCP)' },
    { name: 'ambiguous without protocol', service: dns, port: 53, protocol: undefined, code: 'SERVICE_PORT_AMBIGUOUS', message: 'port 53 is ambiguous: service kube-system/kube-dns has ports: dns(53/UDP), dns-tcp(53/TCP)' },
    { name: 'unnamed ports print without a name', service: unnamed, port: 80, protocol: undefined, code: 'SERVICE_PORT_NOT_FOUND', message: 'port 80 not found: service default/single has ports: 5432/TCP' },
  ])('$name', ({ service, port, protocol, code, message }) => {
    const err = thrown(() => findServicePort(service, port, protocol));
    expect(err.code).toBe(code);
    expect(err.kind).toBe('usage');
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(message);
    expect(err.hint).toBeTruthy();
  });

  it('a service without ports', () => {
    const none = svc({ name: 'empty', clusterIP: '10.96.0.7', ports: [] });
    expect(describeServicePorts(none)).toBe('service default/empty has no ports');
    expect(thrown(() => findServicePort(none, 80)).code).toBe('SERVICE_PORT_NOT_FOUND');
  });

  it('lookupServicePort does not throw', () => {
    expect(lookupServicePort(web, 8080)).toBeUndefined();
    expect(lookupServicePort(dns, 53)).toBeUndefined();
    expect(lookupServicePort(dns, 53, 'TCP')?.name).toBe('dns-tcp');
  });
});

describe('resolveTargetPort', () => {
  const http = (port: number, protocol: 'TCP' | 'UDP' = 'TCP') => ({ name: 'http', containerPort: port, protocol });
  const sidecar: Pod = {
    metadata: { name: 'side', namespace: 'default' },
    spec: {
      containers: [{ name: 'app' }],
      initContainers: [
        { name: 'init', restartPolicy: 'Never', ports: [{ name: 'http', containerPort: 1111 }] },
        { name: 'proxy', restartPolicy: 'Always', ports: [{ name: 'http', containerPort: 15001 }] },
      ],
    },
  };
  it.each<{ name: string; port: ServicePort; p: Pod; want: number | undefined }>([
    { name: 'numeric targetPort', port: { port: 80, targetPort: 8080 }, p: pod({ name: 'a' }), want: 8080 },
    { name: 'no targetPort means port', port: { port: 80 }, p: pod({ name: 'a' }), want: 80 },
    { name: 'named, resolved through this pod', port: { port: 80, targetPort: 'http' }, p: pod({ name: 'a', ports: [http(8080)] }), want: 8080 },
    { name: 'named, another pod maps it elsewhere', port: { port: 80, targetPort: 'http' }, p: pod({ name: 'b', ports: [http(9090)] }), want: 9090 },
    { name: 'named, protocol must match', port: { port: 80, targetPort: 'http', protocol: 'UDP' }, p: pod({ name: 'a', ports: [http(8080)] }), want: undefined },
    { name: 'named, UDP port', port: { port: 80, targetPort: 'http', protocol: 'UDP' }, p: pod({ name: 'a', ports: [http(8080, 'UDP')] }), want: 8080 },
    { name: 'named, pod lacks it', port: { port: 80, targetPort: 'http' }, p: pod({ name: 'a', ports: [{ name: 'web', containerPort: 80 }] }), want: undefined },
    { name: 'a numeric-looking string is still a name', port: { port: 80, targetPort: '8080' }, p: pod({ name: 'a', ports: [http(8080)] }), want: undefined },
    { name: 'sidecar init container (restartPolicy Always)', port: { port: 80, targetPort: 'http' }, p: sidecar, want: 15001 },
  ])('$name', ({ port, p, want }) => {
    expect(resolveTargetPort(web, port, p)).toBe(want);
  });
});

describe('findContainerPort', () => {
  const p = pod({ name: 'dns', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }, { name: 'metrics', containerPort: 9153 }] });
  it.each([
    { name: 'any protocol', port: 'metrics', protocol: undefined, want: 9153 },
    { name: 'with protocol', port: 'dns', protocol: 'udp', want: 53 },
    { name: 'protocol mismatch', port: 'dns', protocol: 'tcp', want: undefined },
    { name: 'unknown', port: 'http', protocol: undefined, want: undefined },
  ])('$name', ({ port, protocol, want }) => {
    expect(findContainerPort(p, port, protocol)).toBe(want);
  });
});
