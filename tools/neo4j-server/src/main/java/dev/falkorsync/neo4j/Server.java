// Starts a real embedded Neo4j Community (5.26 LTS or 2025+) with its Bolt connector on loopback.
// Uses only API that 5.26 and the calendar versions share (see scripts/servers.sh).
// Test, demo and benchmark harness for falkorsync; not part of the product.
package dev.falkorsync.neo4j;

import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.config.Setting;

public final class Server {
    private static String opt(String[] args, String name, String def) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return def;
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("-h") || args[0].equals("--help"))) {
            System.out.println("usage: Server --home DIR [--host 127.0.0.1] [--port 7687]"
                    + " [--password PW] [--tls-dir DIR (holds private.key, public.crt)]"
                    + " [--tls required|optional] [--cypher 5|25 (default language, Neo4j 2025.06+)]");
            return;
        }
        Path home = Path.of(opt(args, "--home", ".run/neo4j")).toAbsolutePath();
        String host = opt(args, "--host", "127.0.0.1");
        int port = Integer.parseInt(opt(args, "--port", "7687"));
        String password = opt(args, "--password", "graphiti123");
        String tlsDir = opt(args, "--tls-dir", "");
        String tlsLevel = opt(args, "--tls", "required");
        String cypher = opt(args, "--cypher", "");
        Files.createDirectories(home);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false);
        if (!tlsDir.isEmpty()) {
            SslPolicyConfig bolt = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            Path dir = Path.of(tlsDir).toAbsolutePath();
            Files.createDirectories(dir.resolve("trusted"));
            Files.createDirectories(dir.resolve("revoked"));
            builder.setConfig(bolt.enabled, true)
                    .setConfig(bolt.base_directory, dir)
                    .setConfig(bolt.private_key, dir.resolve("private.key"))
                    .setConfig(bolt.public_certificate, dir.resolve("public.crt"))
                    .setConfig(bolt.client_auth, ClientAuth.NONE)
                    .setConfig(BoltConnector.encryption_level,
                            tlsLevel.equals("optional")
                                    ? BoltConnector.EncryptionLevel.OPTIONAL
                                    : BoltConnector.EncryptionLevel.REQUIRED);
        }
        if (!cypher.isEmpty()) {
            setDefaultLanguage(builder, cypher);
        }
        DatabaseManagementService dbms = builder.build();

        // The system database starts with neo4j/neo4j and a forced change; set
        // the configured password directly so clients can log in at once.
        String escaped = password.replace("\\", "\\\\").replace("'", "\\'");
        try {
            dbms.database("system").executeTransactionally(
                    "ALTER USER neo4j SET PASSWORD '" + escaped + "' CHANGE NOT REQUIRED");
        } catch (RuntimeException e) {
            // A restart over existing data: the password is already set.
            if (e.getMessage() == null || !e.getMessage().contains("cannot be the same")) {
                dbms.shutdown();
                throw e;
            }
        }

        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dbms.shutdown();
            stop.countDown();
        }));
        System.out.println("neo4j-server: ready on bolt://" + host + ":" + port
                + (tlsDir.isEmpty() ? "" : " (TLS " + tlsLevel + ")")
                + (cypher.isEmpty() ? "" : " (default language Cypher " + cypher + ")")
                + ", home " + home);
        System.out.flush();
        stop.await();
    }

    /* db.query.default_language exists from Neo4j 2025.06 on; looked up by name so
     * that the launcher still compiles against the 5.26 API. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void setDefaultLanguage(DatabaseManagementServiceBuilder builder, String cypher)
            throws ReflectiveOperationException {
        Field f;
        try {
            f = GraphDatabaseSettings.class.getField("default_language");
        } catch (NoSuchFieldException e) {
            throw new IllegalArgumentException("--cypher needs Neo4j 2025.06 or newer", e);
        }
        Class enumType = Class.forName("org.neo4j.configuration.GraphDatabaseSettings$CypherVersion");
        builder.setConfig((Setting<Object>) f.get(null), Enum.valueOf(enumType, "Cypher" + cypher));
    }
}
