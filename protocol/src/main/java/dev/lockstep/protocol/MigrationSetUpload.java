package dev.lockstep.protocol;

import java.util.Map;

/**
 * Body of {@code PUT /v1/services/{service}/migration-sets/{digest}}: an agent's migrations folder, sent when the
 * coordinator asks for it ({@link ReportReceipt#sendMigrations}). The files travel as a release's upload does
 * (file name → Base64 of the bytes), and the coordinator stores them only if they digest to {@code {digest}}.
 *
 * @param files file name → Base64 of its bytes, as {@link MigrationsDigest#files} reads the folder
 */
public record MigrationSetUpload(Map<String, String> files) {}
