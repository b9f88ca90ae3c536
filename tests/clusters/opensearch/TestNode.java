// An OpenSearch 2.19 node embedded in a plain JVM, for the test suite only (see tests/clusters/opensearch.py).
// Usage: java -cp <jars> TestNode <home> <http.port> <transport.port>
// The plugins are handed over as classes, so no plugin descriptors, version or jar-hell checks are needed.
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

import org.opensearch.common.settings.Settings;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public class TestNode extends Node {
    private static final String[] PLUGINS = {
        "org.opensearch.transport.Netty4Plugin",
        "org.opensearch.index.mapper.MapperExtrasPlugin",
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
        "org.opensearch.painless.PainlessPlugin",
        "org.opensearch.knn.plugin.KNNPlugin",
    };

    TestNode(Settings settings, List<Class<? extends Plugin>> plugins) {
        super(InternalSettingsPreparer.prepareEnvironment(settings, Collections.emptyMap(), null, () -> "ingest-test"),
              plugins, true);
    }

    @Override
    protected void configureNodeAndClusterIdStateListener(org.opensearch.cluster.service.ClusterService clusterService) {
        // The log4j node-id converter is set up by Bootstrap, which we do not use.
    }

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws Exception {
        Path home = Path.of(args[0]);
        List<Class<? extends Plugin>> plugins = new java.util.ArrayList<>();
        for (String name : PLUGINS) {
            // A missing class must fail the start: a node without Netty4Plugin runs but serves no HTTP.
            plugins.add((Class<? extends Plugin>) Class.forName(name));
        }
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "ingest-test")
            .put("node.name", "ingest-test-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("action.auto_create_index", true)
            .build();
        TestNode node = new TestNode(settings, plugins);
        // Node threads are daemons: like Bootstrap's keep-alive thread, main waits until SIGTERM.
        java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }));
        node.start();
        System.out.println("ingest-test-node started");
        stopped.await();
    }
}
