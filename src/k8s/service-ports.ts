import { usageError } from '../errors.js';
import type { Container, KubeProtocol, Pod, Service, ServicePort } from './objects.js';

/** A Service port's protocol, defaulted like the API server does (TCP). */
export function servicePortProtocol(port: { readonly protocol?: KubeProtocol | undefined }): KubeProtocol {
  return port.protocol ?? 'TCP';
}

/** A Service port printed as `name(port/PROTO)`, or `port/PROTO` when it has no name. */
export function formatServicePort(port: ServicePort): string {
  const p = `${port.port}/${servicePortProtocol(port)}`;
  return port.name !== undefined && port.name !== '' ? `${port.name}(${p})` : p;
}

/** What a Service exposes, as `service NS/NAME has ports: http(80/TCP), metrics(9090/TCP)`. */
export function describeServicePorts(service: Service): string {
  const id = `${service.metadata.namespace ?? ''}/${service.metadata.name}`;
  const ports = service.spec?.ports ?? [];
  return ports.length === 0 ? `service ${id} has no ports` : `service ${id} has ports: ${ports.map(formatServicePort).join(', ')}`;
}

/**
 * The Service port the user means by `portOrName` (a port number, a numeric string, or a port
 * name) and optionally `protocol` (any case); throws a usage error listing the ports that exist.
 *
 * @remarks
 * A number matches `spec.ports[].port` (the Service port, not the target port). Without a protocol,
 * a number the Service exposes over two protocols (DNS: 53/UDP and 53/TCP) is ambiguous.
 */
export function findServicePort(service: Service, portOrName: number | string, protocol?: string): ServicePort {
  const ports = service.spec?.ports ?? [];
  const proto = protocol?.toUpperCase();
  const matching = matchServicePorts(service, portOrName, proto);
  const wanted = `${String(portOrName)}${proto !== undefined ? `/${proto}` : ''}`;
  const id = `${service.metadata.namespace ?? ''}/${service.metadata.name}`;
  if (matching.length === 1) return matching[0] as ServicePort;
  if (matching.length > 1) {
    throw usageError(
      'SERVICE_PORT_AMBIGUOUS',
      `port ${wanted} is ambiguous: ${describeServicePorts(service)}`,
      `add --protocol (${matching.map((p) => servicePortProtocol(p).toLowerCase()).join(' or ')})`,
    );
  }
  const hint =
    ports.length === 0
      ? `service ${id} exposes no ports${service.spec?.type === 'ExternalName' ? ' (it is an ExternalName service)' : ''}`
      : `pass -p with one of: ${ports.map((p) => (p.name ? `${p.name} or ${p.port}` : String(p.port))).join(', ')}`;
  throw usageError('SERVICE_PORT_NOT_FOUND', `port ${wanted} not found: ${describeServicePorts(service)}`, hint);
}

/**
 * The Service port with exactly this name (`""` for an unnamed port) and protocol, as kube-proxy
 * pairs EndpointSlice ports with Service ports; `undefined` when there is none.
 */
export function servicePortByName(service: Service, name: string, protocol: KubeProtocol): ServicePort | undefined {
  return (service.spec?.ports ?? []).find((p) => (p.name ?? '') === name && servicePortProtocol(p) === protocol);
}

function sidecars(pod: Pod): readonly Container[] {
  return (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
}

/**
 * The port on `pod` that `servicePort` forwards to: its numeric `targetPort`, `port` when no
 * targetPort is set, or for a named targetPort the `containerPort` of the pod's container port with
 * that name and the Service port's protocol; `undefined` when the pod has no such named port.
 *
 * @remarks
 * Same rules as `podutil.FindPort` (k8s.io/kubernetes/pkg/api/v1/pod/util.go): containers first,
 * then sidecar init containers (`restartPolicy: Always`); the name is resolved per pod, so two pods
 * may map one name to different numbers. A string targetPort is always a name, even if it looks
 * like a number.
 */
export function resolveTargetPort(_service: Service, servicePort: ServicePort, pod: Pod): number | undefined {
  const target = servicePort.targetPort;
  if (target === undefined || target === null) return servicePort.port;
  if (typeof target === 'number') return target;
  const proto = servicePortProtocol(servicePort);
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars(pod)]) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

/**
 * The container port of `pod` named `name` (any protocol when `protocol` is not given), for `-p NAME`
 * against a pod destination.
 */
export function findContainerPort(pod: Pod, name: string, protocol?: string): number | undefined {
  const proto = protocol?.toUpperCase();
  for (const c of [...(pod.spec?.containers ?? []), ...sidecars(pod)]) {
    for (const p of c.ports ?? []) {
      if (p.name === name && (proto === undefined || (p.protocol ?? 'TCP') === proto)) return p.containerPort;
    }
  }
  return undefined;
}

/**
 * The Service port `portOrName` (a number, numeric string or name) with `protocol` when given,
 * without throwing: `undefined` when there is none or, without a protocol, more than one.
 */
export function lookupServicePort(service: Service, portOrName: number | string, protocol?: string): ServicePort | undefined {
  const matching = matchServicePorts(service, portOrName, protocol?.toUpperCase());
  return matching.length === 1 ? matching[0] : undefined;
}

function matchServicePorts(service: Service, portOrName: number | string, proto: string | undefined): readonly ServicePort[] {
  const asNumber = typeof portOrName === 'number' ? portOrName : /^\d+$/.test(portOrName) ? Number(portOrName) : undefined;
  return (service.spec?.ports ?? []).filter(
    (p) =>
      (asNumber !== undefined ? p.port === asNumber : p.name === portOrName) &&
      (proto === undefined || servicePortProtocol(p) === proto),
  );
}
