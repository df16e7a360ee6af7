// One open chat thread: its history, the runs streaming into it, sending and stopping.
//
// Runs belong to the server. Leaving the thread or reloading only closes the streams (the
// runs go on); opening the thread again re-attaches to a run still going with
// `GET …/runs/{id}/stream` and `Last-Event-ID`. Stop is the only way to cancel a run.
import { ApiError, get, mintId, openStream, post, seg, type EventStream } from "../api/client";
import type { Message, RunEventRow, RunRow, StudioEnvelope } from "../api/types";
import { RunStatus, TERMINAL_CHAT_KINDS } from "../protocol.gen";
import { AnswerModel, answerFromParts } from "./model";

export type Turn = { kind: "user"; key: string; text: string } | { kind: "answer"; key: string; model: AnswerModel };

const TERMINAL = new Set<string>(TERMINAL_CHAT_KINDS);
const LIVE_STATUSES = new Set<string>([RunStatus.Running, RunStatus.Waiting]);
/** Reopened answers replay their run events (exact tree); older ones render from stored parts. */
const REPLAYED_ANSWERS = 20;
const REATTACH_TRIES = 3;
const END_GRACE_MS = 5000;
/**
 * Streams of runs still going in a thread the user left. They are read to their end rather
 * than cut (a cut stream is an aborted request in the browser's log); past this many, the
 * oldest is closed so they never take the browser's few connections per server.
 */
const MAX_DETACHED = 2;
const detached: EventStream[] = [];

function detach(stream: EventStream): void {
  detached.push(stream);
  while (detached.length > MAX_DETACHED) detached.shift()?.close();
}

function forget(stream: EventStream): void {
  const at = detached.indexOf(stream);
  if (at >= 0) detached.splice(at, 1);
}

export class ChatSession {
  turns: Turn[] = [];
  threadId: string | null;
  notFound = false;
  error: unknown = null;
  private readonly streams = new Set<EventStream>();
  private disposed = false;
  private keys = 0;

  constructor(
    private readonly ws: (path: string) => string,
    threadId: string | null,
    private readonly changed: () => void,
  ) {
    this.threadId = threadId;
  }

  private key(): string {
    this.keys += 1;
    return `turn-${this.keys}`;
  }

  /** The answer still streaming, if any. */
  get running(): AnswerModel | null {
    for (const turn of this.turns) if (turn.kind === "answer" && turn.model.live) return turn.model;
    return null;
  }

  /** Load the thread's messages, replay its answers, and re-attach to runs still going. */
  async load(): Promise<void> {
    const threadId = this.threadId;
    if (!threadId) return;
    let messages: Message[];
    try {
      messages = (await get<{ messages: Message[] }>(this.ws(`/threads/${seg(threadId)}/messages`))).messages;
    } catch (err) {
      if (this.disposed) return;
      if (err instanceof ApiError && err.status === 404) this.notFound = true;
      else this.error = err;
      this.changed();
      return;
    }
    if (this.disposed) return;
    const answered = new Set<string>();
    const turns: Turn[] = messages.map((message) => {
      if (message.role !== "assistant") return { kind: "user", key: this.key(), text: message.content };
      const runId = message.metadata?.runId ?? `message-${message.messageId}`;
      answered.add(runId);
      const parts = message.parts ?? message.metadata?.parts ?? [];
      return { kind: "answer", key: this.key(), model: answerFromParts(runId, parts, message.content, message.metadata?.status) };
    });
    this.turns = turns;
    this.changed();
    await Promise.all([this.replayAnswers(), this.attachLiveRuns(threadId, answered)]);
  }

  private async replayAnswers(): Promise<void> {
    const answers = this.turns.filter((t): t is Extract<Turn, { kind: "answer" }> => t.kind === "answer" && !t.model.runId.startsWith("message-"));
    await Promise.all(
      answers.slice(-REPLAYED_ANSWERS).map(async (turn) => {
        let events: RunEventRow[];
        try {
          events = (await get<{ events: RunEventRow[] }>(this.ws(`/runs/${seg(turn.model.runId)}/events`))).events;
        } catch {
          return; // an eval sample or a pruned run: keep the answer built from its parts
        }
        if (this.disposed || !events.length) return;
        const model = new AnswerModel(turn.model.runId, events[0].event?.agentId ?? null);
        for (const row of events) model.apply({ ...row.event, seq: row.seq, kind: row.kind });
        if (model.live) model.interrupted("The run's record ends without a final event.");
        turn.model = model;
      }),
    );
    if (!this.disposed) this.changed();
  }

  private async attachLiveRuns(threadId: string, answered: Set<string>): Promise<void> {
    let runs: RunRow[];
    try {
      runs = (await get<{ runs: RunRow[] }>(this.ws(`/runs?threadId=${seg(threadId)}&operation=chat`))).runs;
    } catch {
      return;
    }
    const live = runs.filter((run) => run.threadId === threadId && LIVE_STATUSES.has(run.status) && !answered.has(run.runId));
    for (const run of live.reverse()) {
      if (this.disposed) return;
      const model = new AnswerModel(run.runId, run.agentId ?? null);
      this.turns.push({ kind: "answer", key: this.key(), model });
      this.changed();
      void this.follow(model, 0);
    }
  }

  /** Follow a run from after `lastSeq` until its terminal event (re-attaching if cut). */
  private async follow(model: AnswerModel, lastSeq: number, tries = REATTACH_TRIES): Promise<void> {
    const stream = openStream(this.ws(`/runs/${seg(model.runId)}/stream`), { lastEventId: lastSeq });
    await this.read(stream, model, tries);
  }

  private async read(stream: EventStream, model: AnswerModel, tries: number, onStarted?: () => void): Promise<void> {
    this.streams.add(stream);
    let linger: number | undefined;
    try {
      for await (const frame of stream) {
        const envelope = frame.data as StudioEnvelope;
        if (!envelope || typeof envelope !== "object") continue;
        const kind = envelope.kind || frame.event || "";
        if (model.apply({ ...envelope, kind }) && !this.disposed) this.changed();
        if (onStarted) {
          onStarted();
          onStarted = undefined;
        }
        // After the terminal event the server ends the stream: read to its end (a stream cut
        // short is an aborted request in the browser's log), but do not wait for ever.
        if (TERMINAL.has(kind)) linger ??= window.setTimeout(() => stream.close(), END_GRACE_MS);
      }
      if (!model.live) return;
    } catch (err) {
      if (this.disposed) return;
      if (err instanceof ApiError && err.status > 0) {
        model.interrupted(err.message);
        this.changed();
        return;
      }
    } finally {
      window.clearTimeout(linger);
      this.streams.delete(stream);
      forget(stream);
    }
    if (this.disposed || !model.live) return;
    // The stream ended without a terminal event: the run is still the server's, re-attach.
    if (tries > 0) return this.follow(model, model.lastSeq, tries - 1);
    model.interrupted("Lost the connection to the run; reopen the thread to follow it.");
    this.changed();
  }

  /**
   * Send a prompt to `agentId`; resolves when the answer ends (or the thread is left).
   * `onStarted` runs once the server has started the run (its thread exists by then).
   */
  async send(prompt: string, agentId: string, onStarted?: () => void): Promise<void> {
    if (!this.threadId) this.threadId = mintId("thread_");
    const runId = mintId("run_");
    const model = new AnswerModel(runId, agentId);
    this.turns.push({ kind: "user", key: this.key(), text: prompt }, { kind: "answer", key: this.key(), model });
    this.notFound = false;
    this.changed();
    const stream = openStream(this.ws(`/agents/${seg(agentId)}/stream`), {
      body: { prompt, threadId: this.threadId, runId },
    });
    await this.read(stream, model, REATTACH_TRIES, onStarted);
  }

  /** Cancel the running answer (the server records `run.cancelled`, which ends the stream). */
  async stop(): Promise<void> {
    const model = this.running;
    if (!model) return;
    await post(this.ws(`/runs/${seg(model.runId)}/cancel`));
    if (model.live && ![...this.streams].length) {
      model.cancelOpen();
      model.status = "cancelled";
      this.changed();
    }
  }

  /** Tell the model an approval was decided here (the run's event confirms it). */
  decided(approvalId: string, status: string, feedback?: string): void {
    for (const turn of this.turns) if (turn.kind === "answer") turn.model.markDecided(approvalId, status, feedback);
    this.changed();
  }

  /** Leave the thread. The runs go on; their streams are read to the end in the background. */
  dispose(): void {
    this.disposed = true;
    for (const stream of this.streams) detach(stream);
    this.streams.clear();
  }
}
