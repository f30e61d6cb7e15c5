"""Every OpenTelemetry attribute and event name glassbox reads or writes, in one place.

A semantic-convention rename is a one-file change: add the new name in front of the old one in the tuple.
Tuples are in priority order (newest convention first): intake reads the first one present, and
``processors.wire`` writes the first. Sources: the GenAI semantic conventions 1.28 to 1.41, and what
OpenLLMetry, openai-v2, OpenLIT and Traceloop really put on the wire (see tests/testdata/README.md).
"""

# Operation and kind.
OPERATION_NAME = "gen_ai.operation.name"
LLM_REQUEST_TYPE = "llm.request.type"  # OpenLLMetry <= 0.53
TRACELOOP_SPAN_KIND = "traceloop.span.kind"
TRACELOOP_ENTITY_NAME = "traceloop.entity.name"
TRACELOOP_ENTITY_INPUT = "traceloop.entity.input"
TRACELOOP_ENTITY_OUTPUT = "traceloop.entity.output"
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
DD_LLMOBS_ENABLED = "dd_llmobs_enabled"

# Model and provider.
PROVIDER = ("gen_ai.provider.name", "gen_ai.system")
RESPONSE_MODEL = "gen_ai.response.model"
REQUEST_MODEL = "gen_ai.request.model"

# Content (structured, v1.37+). On spans a JSON string; on log events an AnyValue array.
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"
TOOL_DEFINITIONS = "gen_ai.tool.definitions"
# Older content: OpenLLMetry indexed attributes, OpenLIT <= 1.34 flat strings.
PROMPT_PREFIX = "gen_ai.prompt."
COMPLETION_PREFIX = "gen_ai.completion."
LEGACY_FUNCTIONS_PREFIX = "llm.request.functions."
FLAT_PROMPT = "gen_ai.prompt"
FLAT_COMPLETION = "gen_ai.completion"

# Tools.
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT = "gen_ai.tool.call.result"
TOOL_DESCRIPTION = "gen_ai.tool.description"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_METADATA = {TOOL_CALL_ID: "tool_id", TOOL_DESCRIPTION: "tool_description", TOOL_TYPE: "tool_type"}  # as Datadog

# Usage.
INPUT_TOKENS = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.usage.prompt_tokens")
OUTPUT_TOKENS = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.usage.completion_tokens")
TOTAL_TOKENS = ("gen_ai.usage.total_tokens", "llm.usage.total_tokens", "gen_ai.client.token.usage")
CACHE_READ_TOKENS = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE_TOKENS = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
REASONING_TOKENS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "llm.usage.reasoning_tokens",
)
COST = ("gen_ai.usage.cost",)  # OpenLIT vendor extension, USD
TIME_TO_FIRST_TOKEN = ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token")

# Request parameters become metadata with the prefix stripped.
REQUEST_PREFIX = "gen_ai.request."
REQUEST_EXCLUDED = frozenset({"gen_ai.request.model"})
# Extra metadata worth keeping, renamed for Datadog.
METADATA_ALIASES = {
    "gen_ai.response.finish_reasons": "finish_reasons",
    "gen_ai.response.id": "response_id",
    "gen_ai.is_streaming": "stream",
    "llm.is_streaming": "stream",
    "gen_ai.request.is_stream": "stream",
    "gen_ai.openai.request.seed": "seed",
    "gen_ai.openai.request.response_format": "response_format",
    "gen_ai.openai.request.service_tier": "service_tier",
    "openai.request.service_tier": "service_tier",
    "gen_ai.output.type": "output_type",
    "gen_ai.embeddings.dimension.count": "embedding_dimensions",
    "gen_ai.agent.name": "agent_name",
    "gen_ai.agent.id": "agent_id",
    "gen_ai.workflow.name": "workflow_name",
    "traceloop.workflow.name": "workflow_name",
    "traceloop.entity.path": "entity_path",
    "traceloop.entity.version": "entity_version",
    "gen_ai.data_source.id": "data_source_id",
}

# Sessions and users.
SESSION_ID = (
    "gen_ai.conversation.id",
    "session.id",
    "traceloop.association.properties.session_id",
    "langfuse.session.id",
)
USER_ID = (
    "user.id",
    "enduser.id",
    "traceloop.association.properties.user_id",
    "gen_ai.user",
    "gen_ai.request.user",
    "llm.user",
)
ASSOCIATION_PREFIX = "traceloop.association.properties."

# Prompt tracking.
# Prompt identity, by convention, newest first: glassbox's own (gen_ai.prompt.*: what the instrumentation package
# and the OTLP copies write), Traceloop, Langfuse (v3 and older), OpenInference, and the plain span tags of
# Datadog's setup guides. Datadog's own JSON (DD_PROMPT_TRACKING) wins over all of them.
PROMPT_ID = "gen_ai.prompt.id"
PROMPT_NAME = (
    "gen_ai.prompt.name",
    "traceloop.prompt.key",
    "langfuse.observation.prompt.name",
    "langfuse.prompt.name",
    "llm.prompt_name",
)
PROMPT_VERSION = (
    "gen_ai.prompt.version",
    "traceloop.prompt.version",
    "langfuse.observation.prompt.version",
    "langfuse.prompt.version",
    "llm.prompt_template.version",
    "llm.prompt_version",
)
PROMPT_LABEL = ("gen_ai.prompt.label", "traceloop.prompt.version_name")
PROMPT_TEMPLATE = ("gen_ai.prompt.template", "traceloop.prompt.template", "llm.prompt_template.template")
PROMPT_VARIABLES_PREFIX = ("gen_ai.prompt.variables.", "traceloop.prompt.template_variables.")
PROMPT_VARIABLES_JSON = ("llm.prompt_template.variables",)  # OpenInference: one JSON object
DD_PROMPT_TRACKING = "_dd.ml_obs.prompt_tracking"
DD_METADATA = "_dd.ml_obs.metadata"

# Errors.
ERROR_TYPE = "error.type"
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# Resource.
SERVICE_NAME = "service.name"
TELEMETRY_SDK_LANGUAGE = "telemetry.sdk.language"
TELEMETRY_SDK_NAME = "telemetry.sdk.name"  # OpenLIT writes "openlit" here (its token counts differ: see cost)
# The service tier that was billed (the request's is metadata "service_tier").
RESPONSE_SERVICE_TIER = ("openai.response.service_tier", "gen_ai.openai.response.service_tier")
SERVICE_VERSION = "service.version"
ML_APP = "dd.llmobs.ml_app"  # resource (or span) attribute: the app's DD_LLMOBS_ML_APP, set by glassbox-instrument
DEPLOYMENT_ENV = ("deployment.environment.name", "deployment.environment")

# Log events and span events that carry content.
EVENT_NAME_ATTR = "event.name"
EVENT_OPERATION_DETAILS = "gen_ai.client.inference.operation.details"
EVENT_SYSTEM_MESSAGE = "gen_ai.system.message"
EVENT_USER_MESSAGE = "gen_ai.user.message"
EVENT_ASSISTANT_MESSAGE = "gen_ai.assistant.message"
EVENT_TOOL_MESSAGE = "gen_ai.tool.message"
EVENT_CHOICE = "gen_ai.choice"
EVENT_CONTENT_PROMPT = "gen_ai.content.prompt"
EVENT_CONTENT_COMPLETION = "gen_ai.content.completion"
EVENT_EVALUATION = "gen_ai.evaluation.result"
MESSAGE_EVENTS = {
    EVENT_SYSTEM_MESSAGE: "system",
    EVENT_USER_MESSAGE: "user",
    EVENT_ASSISTANT_MESSAGE: "assistant",
    EVENT_TOOL_MESSAGE: "tool",
}
CONTENT_EVENTS = frozenset({*MESSAGE_EVENTS, EVENT_CHOICE, EVENT_OPERATION_DETAILS, EVENT_EVALUATION})

# Evaluations (semconv 1.38+ event).
EVALUATION_NAME = "gen_ai.evaluation.name"
EVALUATION_SCORE = "gen_ai.evaluation.score.value"
EVALUATION_LABEL = "gen_ai.evaluation.score.label"
EVALUATION_EXPLANATION = "gen_ai.evaluation.explanation"


# Operation name → Datadog span kind.
OPERATION_KINDS = {
    "chat": "llm",
    "generate_content": "llm",
    "text_completion": "llm",
    "completion": "llm",
    "responses": "llm",
    "embeddings": "embedding",
    "embedding": "embedding",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "invoke_workflow": "workflow",
    "retrieval": "retrieval",
    "retrieve": "retrieval",
}
LLM_REQUEST_TYPE_KINDS = {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "workflow"}
TRACELOOP_KINDS = {"workflow": "workflow", "task": "task", "agent": "agent", "tool": "tool"}
OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "EMBEDDING": "embedding",
    "TOOL": "tool",
    "AGENT": "agent",
    "RETRIEVER": "retrieval",
    "CHAIN": "workflow",
}
# Deprecated gen_ai.system values → current provider names.
PROVIDER_ALIASES = {
    "az.ai.inference": "azure.ai.inference",
    "az.ai.openai": "azure.ai.openai",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "xai": "x_ai",
}
# Provider (as above, lowercased and de-aliased) → Datadog's ``model_provider``, the names ddtrace's own integrations
# send (dd-trace-py's ``_integrations``: openai.py, bedrock.py, vertexai.py / google_genai.py, mistralai.py) and
# Datadog's cost estimation matches on. Anything not listed goes out as reported. The one table: exporters that
# name a provider for Datadog (span events, metric tags) read it through ``datadog.format.model_provider``.
DATADOG_PROVIDERS = {
    "openai": "openai",
    "azure.ai.openai": "azure_openai",
    "azure": "azure_openai",  # OpenLLMetry < 0.48 named the vendor of the openai client's base URL: Azure
    "anthropic": "anthropic",
    "aws.bedrock": "amazon_bedrock",
    "aws": "amazon_bedrock",  # ... AWS
    "bedrock": "amazon_bedrock",
    "gcp.vertex_ai": "google",  # ddtrace's Vertex AI and Google GenAI integrations both send "google"
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "google": "google",  # ... Google
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "deepseek": "deepseek",
}
# Datadog provider → the ddtrace integration that calls it (the ``integration:`` tag), for LLM spans whose
# instrumentation scope does not name the library it wraps (openai-v2's opentelemetry.util.genai.handler,
# Traceloop's traceloop.tracer).
DATADOG_INTEGRATIONS = {
    "openai": "openai",
    "azure_openai": "openai",
    "deepseek": "openai",
    "anthropic": "anthropic",
    "amazon_bedrock": "bedrock",
    "mistral": "mistralai",
}
# telemetry.sdk.language → the ``language:`` tag Datadog's tracers send.
DATADOG_LANGUAGES = {"nodejs": "javascript", "webjs": "javascript"}

# --- what glassbox writes on the OTLP copy of a span (processors.wire) ------------------------------------------
# Metrics a processor sets: token counts under their semconv names, the total cost (USD) under OpenLIT's
# ``gen_ai.usage.cost`` (intake reads it back as total_cost), anything else as ``glassbox.metrics.<name>``.
# Tags keep their key; prompts go under PROMPT_NAME[0] / PROMPT_VERSION[0] / PROMPT_ID; evaluations become
# EVENT_EVALUATION span events.
METRIC_ATTRIBUTES = {
    "input_tokens": INPUT_TOKENS[0],
    "output_tokens": OUTPUT_TOKENS[0],
    "total_tokens": TOTAL_TOKENS[0],
    "cache_read_input_tokens": CACHE_READ_TOKENS[0],
    "cache_write_input_tokens": CACHE_WRITE_TOKENS[0],
    "reasoning_output_tokens": REASONING_TOKENS[0],
    "total_cost": COST[0],
}
METRIC_ATTRIBUTE_PREFIX = "glassbox.metrics."

# --- attribute keys by what they may carry (redaction) ---------------------------------------------------------
# Glob patterns (``*`` matches anything, dots included). CONTENT_ATTRIBUTES carry prompts, completions, tool
# arguments and results or error text: always scanned, even under a key the user excluded. Every other key is
# scanned too unless the config excludes it explicitly: no infrastructure key is trusted to be free of PII
# (service names, model names, error types and status texts all turned out to carry it).
CONTENT_ATTRIBUTES = (
    "gen_ai.prompt*",
    "gen_ai.completion*",
    INPUT_MESSAGES,
    OUTPUT_MESSAGES,
    SYSTEM_INSTRUCTIONS,
    TOOL_CALL_ARGUMENTS,
    TOOL_CALL_RESULT,
    TOOL_DEFINITIONS,
    EVALUATION_EXPLANATION,
    "gen_ai.content.*",
    "llm.prompts*",
    "llm.completions*",
    TRACELOOP_ENTITY_INPUT,
    TRACELOOP_ENTITY_OUTPUT,
    "input.value",
    "output.value",
    EXCEPTION_MESSAGE,
    EXCEPTION_STACKTRACE,
    "db.statement",
    "db.query.text",
)
