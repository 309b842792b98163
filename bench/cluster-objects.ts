import type { Layout, NodeInfo, PodInfo, ServiceInfo } from './cluster-layout.js';
import { hex, timestamp, uid, type JsonObject } from './cluster-util.js';

/**
 * The API objects of a generated cluster, shaped as `kubectl get -o json` serves them (no
 * managedFields), modelled on test/fixtures/k8s/flannel-cluster.json.
 */

const KUBELET = 'v1.31.2';

function nodeObject(layout: Layout, n: NodeInfo): JsonObject {
  const created = timestamp(n.index % 60);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      annotations: {
        'flannel.alpha.coreos.com/backend-data':
          layout.shape.backend === 'vxlan' ? JSON.stringify({ VNI: 1, VtepMAC: n.vtepMac }) : 'null',
        'flannel.alpha.coreos.com/backend-type': layout.shape.backend,
        'flannel.alpha.coreos.com/kube-subnet-manager': 'true',
        'flannel.alpha.coreos.com/public-ip': n.ip,
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///var/run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      creationTimestamp: created,
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'topology.kubernetes.io/zone': `zone-${n.index % 3}`,
      },
      name: n.name,
      resourceVersion: String(48000 + n.index),
      uid: uid(`node:${n.name}`),
    },
    spec: { podCIDR: n.podCidr, podCIDRs: [n.podCidr] },
    status: {
      addresses: [
        { address: n.ip, type: 'InternalIP' },
        { address: n.name, type: 'Hostname' },
      ],
      allocatable: {
        cpu: '8',
        'ephemeral-storage': '95500736762',
        'hugepages-2Mi': '0',
        memory: '32676824Ki',
        pods: '110',
      },
      capacity: {
        cpu: '8',
        'ephemeral-storage': '103623440Ki',
        'hugepages-2Mi': '0',
        memory: '32779224Ki',
        pods: '110',
      },
      conditions: [
        ['MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
        ['DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
        ['PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
        ['Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'],
      ].map(([type, status, reason, message]) => ({
        lastHeartbeatTime: '2026-11-21T09:58:40Z',
        lastTransitionTime: created,
        message: message as string,
        reason: reason as string,
        status: status as string,
        type: type as string,
      })),
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        architecture: 'amd64',
        bootID: uid(`boot:${n.name}`),
        containerRuntimeVersion: 'containerd://1.7.22',
        kernelVersion: '6.8.0-45-generic',
        kubeProxyVersion: '',
        kubeletVersion: KUBELET,
        machineID: hex(`machine:${n.name}`, 32),
        operatingSystem: 'linux',
        osImage: 'Ubuntu 24.04.1 LTS',
        systemUUID: uid(`system:${n.name}`),
      },
    },
  };
}

function podObject(layout: Layout, p: PodInfo): JsonObject {
  const node = layout.nodes[p.node] as NodeInfo;
  const started = timestamp(600 + (p.index % 1000));
  const image = `registry.example.com/team-${p.namespace}/${p.app}:1.${p.index % 7}.0`;
  const condition = (type: string): JsonObject => ({
    lastProbeTime: null,
    lastTransitionTime: started,
    status: 'True',
    type,
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      creationTimestamp: started,
      generateName: `${p.app}-${p.rsHash}-`,
      labels: { app: p.app, 'pod-template-hash': p.rsHash },
      name: p.name,
      namespace: p.namespace,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'ReplicaSet',
          name: `${p.app}-${p.rsHash}`,
          uid: uid(`rs:${p.namespace}/${p.app}`),
        },
      ],
      resourceVersion: String(50000 + p.index),
      uid: uid(`pod:${p.namespace}/${p.name}`),
    },
    spec: {
      containers: [
        {
          image,
          imagePullPolicy: 'IfNotPresent',
          name: 'app',
          ports: [{ containerPort: p.port, name: p.portName, protocol: p.protocol.toUpperCase() }],
          readinessProbe: {
            failureThreshold: 3,
            periodSeconds: 10,
            successThreshold: 1,
            timeoutSeconds: 1,
            ...(p.protocol === 'tcp'
              ? { tcpSocket: { port: p.portName } }
              : { exec: { command: ['/bin/healthcheck'] } }),
          },
          resources: { limits: { memory: '256Mi' }, requests: { cpu: '50m', memory: '64Mi' } },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
          volumeMounts: [
            {
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              name: `kube-api-access-${p.name.slice(-5)}`,
              readOnly: true,
            },
          ],
        },
      ],
      dnsPolicy: 'ClusterFirst',
      enableServiceLinks: true,
      nodeName: node.name,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
      restartPolicy: 'Always',
      schedulerName: 'default-scheduler',
      securityContext: {},
      serviceAccount: 'default',
      serviceAccountName: 'default',
      terminationGracePeriodSeconds: 30,
      tolerations: [
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
        {
          effect: 'NoExecute',
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          tolerationSeconds: 300,
        },
      ],
    },
    status: {
      conditions: [
        'PodReadyToStartContainers',
        'Initialized',
        'Ready',
        'ContainersReady',
        'PodScheduled',
      ].map(condition),
      containerStatuses: [
        {
          containerID: `containerd://${hex(`ctr:${p.namespace}/${p.name}`, 40)}${hex(`ctr2:${p.name}`, 24)}`,
          image,
          imageID: `registry.example.com/team-${p.namespace}/${p.app}@sha256:${hex(`img:${p.app}`, 40)}${hex(`img2:${p.app}`, 24)}`,
          lastState: {},
          name: 'app',
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: started } },
        },
      ],
      hostIP: node.ip,
      hostIPs: [{ ip: node.ip }],
      phase: 'Running',
      podIP: p.ip,
      podIPs: [{ ip: p.ip }],
      qosClass: 'Burstable',
      startTime: started,
    },
  };
}

function serviceObject(s: ServiceInfo): JsonObject {
  const g = s.gen;
  const nodePort = g.nodePort;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      creationTimestamp: timestamp(500 + (s.index % 100)),
      labels: { app: s.name },
      name: s.name,
      namespace: s.namespace,
      resourceVersion: String(20000 + s.index),
      uid: uid(`svc:${s.namespace}/${s.name}`),
    },
    spec: {
      clusterIP: g.clusterIP,
      clusterIPs: [g.clusterIP],
      ...(nodePort !== undefined ? { externalTrafficPolicy: 'Cluster' } : {}),
      internalTrafficPolicy: 'Cluster',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [
        {
          name: s.portName,
          ...(nodePort !== undefined ? { nodePort } : {}),
          port: g.port,
          protocol: g.protocol.toUpperCase(),
          targetPort: g.protocol === 'udp' ? s.targetPort : 'http',
        },
      ],
      selector: { app: s.name },
      sessionAffinity: 'None',
      type: nodePort !== undefined ? 'NodePort' : 'ClusterIP',
    },
    status: { loadBalancer: {} },
  };
}

function sliceObject(layout: Layout, s: ServiceInfo): JsonObject {
  const name = `${s.name}-${hex(`slice:${s.namespace}/${s.name}`, 5).replace(/[0-9]/g, (d) => 'bcdfghjklm'[Number(d)] as string)}`;
  return {
    addressType: 'IPv4',
    apiVersion: 'discovery.k8s.io/v1',
    endpoints: s.pods.map((p) => {
      const node = layout.nodes[p.node] as NodeInfo;
      return {
        addresses: [p.ip],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: node.name,
        targetRef: {
          kind: 'Pod',
          name: p.name,
          namespace: p.namespace,
          uid: uid(`pod:${p.namespace}/${p.name}`),
        },
        zone: `zone-${node.index % 3}`,
      };
    }),
    kind: 'EndpointSlice',
    metadata: {
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': timestamp(700 + (s.index % 100)) },
      creationTimestamp: timestamp(500 + (s.index % 100)),
      generateName: `${s.name}-`,
      generation: 3,
      labels: {
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        'kubernetes.io/service-name': s.name,
      },
      name,
      namespace: s.namespace,
      ownerReferences: [
        {
          apiVersion: 'v1',
          blockOwnerDeletion: true,
          controller: true,
          kind: 'Service',
          name: s.name,
          uid: uid(`svc:${s.namespace}/${s.name}`),
        },
      ],
      resourceVersion: String(30000 + s.index),
      uid: uid(`eps:${s.namespace}/${name}`),
    },
    ports: [{ name: s.portName, port: s.targetPort, protocol: s.gen.protocol.toUpperCase() }],
  };
}

function namespaceObject(name: string, i: number): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      creationTimestamp: timestamp(i),
      labels: { 'kubernetes.io/metadata.name': name },
      name,
      resourceVersion: String(100 + i),
      uid: uid(`ns:${name}`),
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function flannelDaemonSet(nodes: number): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      annotations: { 'deprecated.daemonset.template.generation': '1' },
      creationTimestamp: timestamp(1),
      generation: 1,
      labels: { app: 'flannel', 'k8s-app': 'flannel', tier: 'node' },
      name: 'kube-flannel-ds',
      namespace: 'kube-flannel',
      resourceVersion: '48002',
      uid: uid('ds:kube-flannel-ds'),
    },
    spec: {
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: 'flannel', 'k8s-app': 'flannel' } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'flannel', 'k8s-app': 'flannel', tier: 'node' } },
        spec: {
          containers: [
            {
              args: ['--ip-masq', '--kube-subnet-mgr'],
              command: ['/opt/bin/flanneld'],
              env: [{ name: 'EVENT_QUEUE_DEPTH', value: '5000' }],
              image: 'docker.io/flannel/flannel:v0.25.6',
              imagePullPolicy: 'IfNotPresent',
              name: 'kube-flannel',
              securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] }, privileged: false },
            },
          ],
          hostNetwork: true,
          initContainers: [
            {
              args: ['-f', '/flannel', '/opt/cni/bin/flannel'],
              command: ['cp'],
              image: 'docker.io/flannel/flannel-cni-plugin:v1.5.1-flannel2',
              name: 'install-cni-plugin',
            },
            {
              args: ['-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
              command: ['cp'],
              image: 'docker.io/flannel/flannel:v0.25.6',
              name: 'install-cni',
            },
          ],
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'flannel',
          tolerations: [{ effect: 'NoSchedule', operator: 'Exists' }],
        },
      },
      updateStrategy: { rollingUpdate: { maxSurge: 0, maxUnavailable: 1 }, type: 'RollingUpdate' },
    },
    status: {
      currentNumberScheduled: nodes,
      desiredNumberScheduled: nodes,
      numberAvailable: nodes,
      numberMisscheduled: 0,
      numberReady: nodes,
      observedGeneration: 1,
      updatedNumberScheduled: nodes,
    },
  };
}

function kubeProxyDaemonSet(nodes: number): JsonObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: {
      creationTimestamp: timestamp(0),
      generation: 1,
      labels: { 'k8s-app': 'kube-proxy' },
      name: 'kube-proxy',
      namespace: 'kube-system',
      resourceVersion: '48003',
      uid: uid('ds:kube-proxy'),
    },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'kube-proxy' } },
      template: {
        metadata: { labels: { 'k8s-app': 'kube-proxy' } },
        spec: {
          containers: [
            {
              command: [
                '/usr/local/bin/kube-proxy',
                '--config=/var/lib/kube-proxy/config.conf',
                '--hostname-override=$(NODE_NAME)',
              ],
              image: `registry.k8s.io/kube-proxy:${KUBELET}`,
              name: 'kube-proxy',
            },
          ],
          hostNetwork: true,
          priorityClassName: 'system-node-critical',
          serviceAccountName: 'kube-proxy',
        },
      },
    },
    status: { currentNumberScheduled: nodes, desiredNumberScheduled: nodes, numberReady: nodes },
  };
}

function flannelConfigMap(layout: Layout): JsonObject {
  const cniConf = {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  const netConf = {
    Network: layout.clusterCidr,
    EnableNFTables: false,
    Backend: { Type: layout.shape.backend },
  };
  return {
    apiVersion: 'v1',
    data: {
      'cni-conf.json': `${JSON.stringify(cniConf, null, 2)}\n`,
      'net-conf.json': `${JSON.stringify(netConf, null, 2)}\n`,
    },
    kind: 'ConfigMap',
    metadata: {
      creationTimestamp: timestamp(1),
      labels: { app: 'flannel', 'k8s-app': 'flannel', tier: 'node' },
      name: 'kube-flannel-cfg',
      namespace: 'kube-flannel',
      resourceVersion: '301',
      uid: uid('cm:kube-flannel-cfg'),
    },
  };
}

function kubeProxyConfigMap(layout: Layout): JsonObject {
  const conf = [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'bindAddress: 0.0.0.0',
    'clientConnection:',
    '  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf',
    `clusterCIDR: ${layout.clusterCidr}`,
    'configSyncPeriod: 0s',
    'conntrack:',
    '  maxPerCore: null',
    '  min: null',
    'iptables:',
    '  localhostNodePorts: null',
    '  masqueradeAll: false',
    '  masqueradeBit: null',
    '  minSyncPeriod: 0s',
    '  syncPeriod: 0s',
    'ipvs:',
    '  excludeCIDRs: null',
    '  scheduler: ""',
    '  strictARP: false',
    'kind: KubeProxyConfiguration',
    'metricsBindAddress: ""',
    'mode: ""',
    'nodePortAddresses: null',
    'oomScoreAdj: null',
    'portRange: ""',
  ].join('\n');
  return {
    apiVersion: 'v1',
    data: { 'config.conf': conf },
    kind: 'ConfigMap',
    metadata: {
      creationTimestamp: timestamp(0),
      labels: { app: 'kube-proxy' },
      name: 'kube-proxy',
      namespace: 'kube-system',
      resourceVersion: '302',
      uid: uid('cm:kube-proxy'),
    },
  };
}

/** The `objects` section of the snapshot. */
export function clusterObjects(layout: Layout): JsonObject {
  const nsNames = ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-flannel'];
  for (let i = 0; i < 97; i++) nsNames.push(`ns${i}`);
  return {
    nodes: layout.nodes.map((n) => nodeObject(layout, n)),
    namespaces: nsNames.map(namespaceObject),
    pods: layout.pods.map((p) => podObject(layout, p)),
    services: layout.services.map(serviceObject),
    endpointSlices: layout.services.map((s) => sliceObject(layout, s)),
    networkPolicies: [],
    daemonSets: [flannelDaemonSet(layout.nodes.length), kubeProxyDaemonSet(layout.nodes.length)],
    configMaps: [flannelConfigMap(layout), kubeProxyConfigMap(layout)],
  };
}
