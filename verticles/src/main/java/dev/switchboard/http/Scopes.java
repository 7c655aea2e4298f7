package dev.switchboard.http;

import io.vertx.core.json.JsonArray;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Operator scopes and how they imply each other: admin satisfies everything; write satisfies read and talk. */
public final class Scopes {
  public static final String READ = "operator.read";
  public static final String WRITE = "operator.write";
  public static final String ADMIN = "operator.admin";
  public static final String APPROVALS = "operator.approvals";
  public static final String QUESTIONS = "operator.questions";
  public static final String PAIRING = "operator.pairing";
  public static final String TALK = "operator.talk";
  public static final String TALK_SECRETS = "operator.talk.secrets";
  public static final List<String> ALL = List.of(READ, WRITE, ADMIN, APPROVALS, QUESTIONS, PAIRING, TALK, TALK_SECRETS);

  private Scopes() {
  }

  /** The requested scopes that exist, in the order asked (unknown strings are dropped). */
  public static Set<String> grant(JsonArray requested) {
    Set<String> out = new LinkedHashSet<>();
    if (requested != null) {
      for (Object o : requested) {
        if (o instanceof String s && ALL.contains(s)) {
          out.add(s);
        }
      }
    }
    return out;
  }

  public static boolean satisfies(Set<String> granted, String required) {
    if (required == null || granted.contains(ADMIN) || granted.contains(required)) {
      return true;
    }
    return granted.contains(WRITE) && (required.equals(READ) || required.equals(TALK));
  }
}
