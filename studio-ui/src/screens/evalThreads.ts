// Thread ids of evals (the prefixes come from the Python definitions).
import { EVAL_RECORD_THREAD_PREFIX } from "../protocol.gen";

/** The thread an eval's own run events are recorded under. */
export function evalRecordThread(evalId: string): string {
  return `${EVAL_RECORD_THREAD_PREFIX}${evalId}`;
}
