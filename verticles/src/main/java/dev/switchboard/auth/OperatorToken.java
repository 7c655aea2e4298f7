package dev.switchboard.auth;

import dev.switchboard.config.Secret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The operator token: configured ({@code auth.token} or {@code SWITCHBOARD_TOKEN}), or generated on
 * first start and kept in {@code <dataDir>/operator-token} (owner-readable only). Start-up code,
 * blocking file I/O.
 */
public final class OperatorToken {
  public static final String FILE = "operator-token";

  private OperatorToken() {
  }

  public static Secret resolve(Secret configured, Path dataDir) throws IOException {
    if (configured != null) {
      return configured;
    }
    Path file = dataDir.resolve(FILE);
    if (Files.exists(file)) {
      String t = Files.readString(file, StandardCharsets.UTF_8).strip();
      if (t.length() >= 16) {
        return Secret.of(t, file.toString());
      }
    }
    Files.createDirectories(dataDir);
    byte[] raw = new byte[32];
    new SecureRandom().nextBytes(raw);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (FileAlreadyExistsException e) {
      // a short or empty file: replaced below
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, token + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
    return Secret.of(token, file.toString());
  }
}
