package dev.switchboard.store;

import io.vertx.core.json.JsonObject;

/**
 * Tokens and estimated cost summed over turns (one session's, or a workspace's).
 *
 * @param costNanos     estimated cost in nano-USD of the turns whose models have a price
 * @param unpricedTurns turns that used tokens on a model without a configured price (their cost is
 *                      unknown and not in {@code costNanos})
 * @param modelCalls    model calls made (a turn with tools makes several)
 * @param turns         turns answered
 */
public record UsageTotals(long inputTokens, long outputTokens, long cachedTokens, long costNanos, long unpricedTurns,
    long modelCalls, long turns) {
  public static final UsageTotals ZERO = new UsageTotals(0, 0, 0, 0, 0, 0, 0);

  /** What one turn's {@code agent_end} payload ({@code usage}, {@code costUsd}, {@code steps}) adds. */
  static UsageTotals ofTurn(JsonObject agentEnd) {
    JsonObject usage = agentEnd.getJsonObject("usage");
    if (usage == null) {
      return ZERO;
    }
    long in = usage.getLong("input", 0L);
    long out = usage.getLong("output", 0L);
    boolean used = in + out > 0;
    Object cost = agentEnd.getValue("costUsd");
    long nanos = cost instanceof Number n ? Math.round(n.doubleValue() * 1e9) : 0;
    return new UsageTotals(in, out, usage.getLong("cacheRead", 0L), nanos, used && cost == null ? 1 : 0,
        agentEnd.getLong("steps", 0L), "ok".equals(agentEnd.getString("status")) ? 1 : 0);
  }

  UsageTotals plus(UsageTotals o) {
    return new UsageTotals(inputTokens + o.inputTokens, outputTokens + o.outputTokens, cachedTokens + o.cachedTokens,
        costNanos + o.costNanos, unpricedTurns + o.unpricedTurns, modelCalls + o.modelCalls, turns + o.turns);
  }

  public JsonObject toJson() {
    return new JsonObject().put("inputTokens", inputTokens).put("outputTokens", outputTokens)
        .put("cachedTokens", cachedTokens).put("totalTokens", inputTokens + outputTokens)
        .put("costUsd", costNanos / 1e9).put("costComplete", unpricedTurns == 0).put("unpricedTurns", unpricedTurns)
        .put("modelCalls", modelCalls).put("turns", turns);
  }
}
