package dev.switchboard.agent;

/**
 * A turn that ended with an answer.
 *
 * @param text       the whole answer: the text of every model step, joined by blank lines
 * @param stopReason of the last model call: {@code stop | length}
 * @param usage      tokens of every model call of the turn together
 * @param costUsd    estimated cost in USD, or null when a model's price is unknown
 * @param provider   the provider that gave the final answer (a fallback, if the primary failed)
 * @param model      the model that gave it
 * @param steps      model calls made
 * @param toolCalls  tool calls run
 */
public record TurnOutcome(String text, String stopReason, Usage usage, Double costUsd, String provider,
    String model, int steps, int toolCalls) {
}
