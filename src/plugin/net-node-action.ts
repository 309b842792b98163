import type { Suspicion } from '../model/suspicion.js';
import type { Crossing, Flight, State, Terminal } from '../netstack/world.js';

/**
 * What one hop of the path (a pod or a node) does with a packet, as a CNI plugin models it: the
 * kernel's own processing (from the captured state) plus the plugin's expectations of that hop.
 * @remarks KubeSkoop's NetNodeAction: `send` starts the packet at this hop, `receive` takes it from
 * the link it arrived on. Both return where the packet goes next (crossings to other hops) or where
 * it ends, and the suspicions this hop raises.
 */
export interface NetNodeAction {
  /** The path node id: `ns/name` for a pod, the node name for a node. */
  readonly id: string;
  readonly type: 'pod' | 'node';
  /** Starts a packet from a socket of this hop. */
  send(state: State, flight: Flight): HopResult;
  /** Takes a packet arriving over a link from another hop. */
  receive(crossing: Crossing): HopResult;
  /**
   * The hop's own checks (links, sysctls, readiness), whether or not a packet reaches it: the
   * destination pod whose interface is down is never reached, yet that is the finding. Each check
   * is reported once per action, by whichever of send/receive/inspect runs first.
   */
  inspect(): readonly Suspicion[];
}

/** The outcome of one hop's processing. */
export interface HopResult {
  readonly next: readonly Terminal[];
  readonly suspicions: readonly Suspicion[];
}

