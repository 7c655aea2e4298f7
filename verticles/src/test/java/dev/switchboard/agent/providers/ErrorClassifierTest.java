package dev.switchboard.agent.providers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.agent.FailureKind;
import dev.switchboard.agent.ModelFailure;
import dev.switchboard.config.Secret;
import io.vertx.core.json.JsonObject;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ErrorClassifierTest {
  static final Secret KEY = Secret.of("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789", "env:OPENAI_API_KEY");

  @ParameterizedTest(name = "HTTP {0} {1} → {3}")
  @DisplayName("HTTP errors of OpenAI, Anthropic and the local servers are classified")
  @CsvSource(delimiter = '|', textBlock = """
      429 | openai    | {"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}} | RATE_LIMIT
      429 | openai    | {"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}} | BILLING
      429 | anthropic | {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}} | RATE_LIMIT
      529 | anthropic | {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}} | OVERLOADED
      503 | vllm      | Service Unavailable | OVERLOADED
      401 | openai    | {"error":{"message":"Incorrect API key","code":"invalid_api_key"}} | AUTH
      403 | anthropic | {"type":"error","error":{"type":"permission_error","message":"no"}} | AUTH
      402 | openai    | {"error":{"message":"payment required"}} | BILLING
      400 | anthropic | {"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low"}} | BILLING
      400 | openai    | {"error":{"message":"This model's maximum context length is 8192 tokens","code":"context_length_exceeded"}} | CONTEXT_OVERFLOW
      400 | anthropic | {"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}} | CONTEXT_OVERFLOW
      400 | llamacpp  | {"error":{"code":400,"message":"the request exceeds the available context size","type":"exceed_context_size_error"}} | CONTEXT_OVERFLOW
      500 | ollama    | {"error":"input length exceeds the context length"} | CONTEXT_OVERFLOW
      413 | anthropic | {"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum size"}} | CONTEXT_OVERFLOW
      400 | openai    | {"error":{"message":"Your request was rejected as a result of our safety system","code":"content_policy_violation"}} | REFUSAL
      404 | ollama    | {"error":"model 'llama9' not found"} | BAD_REQUEST
      400 | openai    | {"error":{"message":"Unrecognized request argument","type":"invalid_request_error"}} | BAD_REQUEST
      500 | openai    | {"error":{"message":"The server had an error","type":"server_error"}} | SERVER
      502 | vllm      | <html>Bad Gateway</html> | SERVER
      504 | openai    | gateway timeout | TIMEOUT
      """)
  void httpErrors(int status, String provider, String body, FailureKind expected) {
    ModelFailure f = ErrorClassifier.http(provider, "m", status, null, null, body, List.of());
    assertThat(f.kind()).isEqualTo(expected);
    assertThat(f.httpStatus()).isEqualTo(status);
    assertThat(f.detail().getString("failoverReason")).isEqualTo(expected.id());
  }

  @Test
  @DisplayName("errors inside a stream (Anthropic error event, OpenAI error chunk) are classified by their type")
  void streamedErrors() {
    assertThat(ErrorClassifier.streamed("anthropic", "m", new JsonObject().put("type", "overloaded_error")
        .put("message", "Overloaded"), List.of()).kind()).isEqualTo(FailureKind.OVERLOADED);
    assertThat(ErrorClassifier.streamed("openai", "m", new JsonObject().put("code", "context_length_exceeded")
        .put("message", "too long"), List.of()).kind()).isEqualTo(FailureKind.CONTEXT_OVERFLOW);
    assertThat(ErrorClassifier.streamed("openai", "m", new JsonObject().put("type", "server_error")
        .put("message", "oops"), List.of()).kind()).isEqualTo(FailureKind.SERVER);
  }

  @Test
  @DisplayName("Retry-After as seconds, fractions or an HTTP date; retry-after-ms wins; none is -1")
  void retryAfter() {
    assertThat(ErrorClassifier.retryAfterMs("7", null)).isEqualTo(7_000);
    assertThat(ErrorClassifier.retryAfterMs("0.25", null)).isEqualTo(250);
    assertThat(ErrorClassifier.retryAfterMs("7", "1500")).isEqualTo(1_500);
    assertThat(ErrorClassifier.retryAfterMs(null, null)).isEqualTo(-1);
    assertThat(ErrorClassifier.retryAfterMs("soon", null)).isEqualTo(-1);
    String date = ZonedDateTime.now().plusSeconds(60).format(DateTimeFormatter.RFC_1123_DATE_TIME);
    assertThat(ErrorClassifier.retryAfterMs(date, null)).isBetween(50_000L, 60_000L);
    ModelFailure f = ErrorClassifier.http("openai", "m", 429, "3", null, "{}", List.of());
    assertThat(f.retryAfterMs()).isEqualTo(3_000);
    assertThat(f.detail().getLong("retryAfterMs")).isEqualTo(3_000L);
  }

  @Test
  @DisplayName("a provider's error text that quotes the key loses the key (whole or as a masked prefix)")
  void keysAreRedacted() {
    String echoed = "{\"error\":{\"message\":\"Incorrect API key provided: " + KEY.reveal() + ". Also "
        + KEY.reveal().substring(0, 14) + "****6789.\",\"code\":\"invalid_api_key\"}}";
    ModelFailure f = ErrorClassifier.http("openai", "m", 401, null, null, echoed, List.of(KEY));
    assertThat(f.getMessage()).doesNotContain(KEY.reveal()).doesNotContain(KEY.reveal().substring(0, 12))
        .contains("[redacted]");
    ModelFailure other = ErrorClassifier.http("openai", "m", 401, null, null,
        "{\"error\":{\"message\":\"bad key sk-ant-api03-ZZZZZZZZZZZZ\"}}", List.of());
    assertThat(other.getMessage()).doesNotContain("sk-ant-api03-ZZZZZZZZZZZZ");
  }
}
