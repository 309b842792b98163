import type { Suspicion } from '../model/suspicion.js';
import {
  arrive,
  sendFrom,
  type Crossing,
  type Flight,
  type State,
  type TraceStep,
  type World,
} from '../netstack/world.js';
import type { HopResult, NetNodeAction } from './net-node-action.js';

/**
 * Checks a plugin runs on a hop: once when the hop is first reached (`static`), and for each packet
 * that arrives or leaves (`packet`), in addition to what the kernel simulation itself reports.
 */
export interface HopChecks {
  /** Checks of the hop itself (links, sysctls, readiness), run once. */
  readonly static?: () => readonly Suspicion[];
  /**
   * Checks of one packet's passage: `hopSteps` holds, for each branch leaving this hop, the steps
   * taken in this hop (routing decisions with the packet as routed, NAT, where it left).
   */
  readonly packet?: (
    hopSteps: readonly (readonly TraceStep[])[],
    arrivedOver: Crossing | undefined,
  ) => readonly Suspicion[];
}

/**
 * An action whose kernel processing is the world walker's (the captured state decides), with a
 * plugin's checks on top. Pods and nodes of every plugin are built from it.
 */
export function kernelAction(
  world: World,
  id: string,
  host: string,
  type: 'pod' | 'node',
  checks: HopChecks,
): NetNodeAction {
  let staticDone = false;
  const staticOnce = (): readonly Suspicion[] => {
    if (staticDone) return [];
    staticDone = true;
    return checks.static?.() ?? [];
  };
  const withChecks = (next: HopResult['next'], over: Crossing | undefined, offset: number): HopResult => {
    const suspicions: Suspicion[] = [...staticOnce()];
    if (checks.packet !== undefined) {
      const hopSteps = next.map((t) => t.state.steps.slice(offset));
      suspicions.push(...checks.packet(hopSteps, over));
    }
    return { next, suspicions };
  };
  return {
    id,
    type,
    send(state: State, flight: Flight): HopResult {
      return withChecks(sendFrom(world, state, host, flight), undefined, state.steps.length);
    },
    receive(crossing: Crossing): HopResult {
      return withChecks(arrive(world, crossing), crossing, crossing.state.steps.length);
    },
    inspect: staticOnce,
  };
}
