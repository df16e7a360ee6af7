// Shapes of the Studio API responses the UI reads (fields it does not read are left out).

export interface Capability {
  id: string;
  enabled: boolean;
  scope?: string;
  reason?: string;
}

export interface WorkspaceSummary {
  workspaceKey: string;
  displayName?: string;
  description?: string;
  status?: string;
}

export interface AgentSummary {
  agentId: string;
  role: string;
  model: string;
  stateful?: boolean;
  entrypoint?: boolean;
  toolkits: unknown[];
  tools: string[];
  routes: string[];
}

export interface ProviderSummary {
  name: string;
  configured: boolean;
  credential?: { kind: string; ref?: string };
}

export interface RuntimeSummary {
  workspaceKey: string;
  tenant: { tenantId: string; version: string };
  agents: AgentSummary[];
  providers: ProviderSummary[];
  plans: { name: string }[];
  references: { name: string }[];
}

export interface Thread {
  threadId: string;
  title?: string;
  createdAt: string;
  updatedAt: string;
}

export interface MessagePart {
  type: string;
  text?: string;
  toolCallId?: string;
  toolName?: string;
  agentName?: string;
  args?: unknown;
  state?: string;
  result?: unknown;
}

export interface Message {
  messageId: string | number;
  threadId: string;
  role: string;
  content: string;
  metadata?: { runId?: string; status?: string; parts?: MessagePart[]; [key: string]: unknown };
  parts?: MessagePart[];
  createdAt: string;
}

/** The StudioEvent envelope of a chat run. */
export interface StudioEnvelope {
  seq: number;
  kind: string;
  runId?: string;
  threadId?: string;
  agentId?: string;
  payload: Record<string, unknown>;
}

export interface RunRow {
  runId: string;
  operation: string;
  operationName?: string;
  threadId?: string;
  agentId?: string;
  status: string;
  eventCount: number;
  lastKind?: string;
  createdAt: string;
  updatedAt: string;
}

export interface RunEventRow {
  seq: number;
  kind: string;
  event: StudioEnvelope;
  raw?: unknown;
  createdAt: string;
}

export interface ApprovalRow {
  approvalId: string;
  threadId?: string;
  runId?: string;
  status: string;
  payload: Record<string, unknown>;
  createdAt?: string;
  updatedAt?: string;
}

export interface TestRow {
  id: string;
  testCase: TestCase;
  createdAt?: string;
  updatedAt?: string;
}

export interface TestCase {
  id?: string;
  input?: string;
  tags?: string[];
  expectedTrajectory?: string[];
  trajectoryMode?: string;
  structuredGroundTruth?: unknown;
  finalResponse?: unknown;
  sourceThreadId?: string | null;
  [key: string]: unknown;
}

export interface EvalRow {
  id: string;
  config: Record<string, unknown>;
  testCaseIds: string[];
  status: string;
  latestSummary?: Record<string, unknown> | null;
  createdAt?: string;
  updatedAt?: string;
}

export interface EvalArtifactRow {
  evalId: string;
  runId: string;
  artifact: EvalArtifact;
  createdAt: string;
}

export interface EvalSample {
  testCaseId?: string;
  sampleIndex?: number;
  passed?: boolean;
  aggregateScore?: number;
  scores?: Record<string, unknown>[] | Record<string, unknown>;
  responseText?: string;
  actualTrajectory?: string[];
  threadId?: string;
  trace?: { traceId?: string };
  [key: string]: unknown;
}

export interface EvalCaseResult {
  testCaseId: string;
  input?: string;
  aggregateScore?: number;
  passed?: boolean;
  passAtK?: unknown;
  samples?: EvalSample[];
  [key: string]: unknown;
}

export interface EvalArtifact {
  runId?: string;
  summary?: Record<string, unknown>;
  testCases?: EvalCaseResult[];
  [key: string]: unknown;
}
