/*
 * Test-only Elasticsearch module: the ``grok`` ingest processor, for nodes of the integration-test
 * distribution (which lacks the ingest-common module that normally provides it; that module is not published
 * to Maven Central). Everything that decides a grok result runs inside the node as Elasticsearch's own code:
 * the built-in pattern banks, expansion and Joni regex matching and typed captures (lib/elasticsearch-grok),
 * IngestDocument's field access, and the pipeline/_simulate machinery. This class only wires options to
 * them the way Elasticsearch's GrokProcessor documents: patterns combined into one alternation, trace_match,
 * ignore_missing, pattern_definitions, ecs_compatibility, the node's matcher watchdog, and its error messages.
 */
package org.ingest.testing.grok;

import org.elasticsearch.grok.Grok;
import org.elasticsearch.grok.GrokBuiltinPatterns;
import org.elasticsearch.grok.MatcherWatchdog;
import org.elasticsearch.grok.PatternBank;
import org.elasticsearch.ingest.AbstractProcessor;
import org.elasticsearch.ingest.ConfigurationUtils;
import org.elasticsearch.ingest.IngestDocument;
import org.elasticsearch.ingest.Processor;
import org.elasticsearch.plugins.IngestPlugin;
import org.elasticsearch.plugins.Plugin;

import java.util.List;
import java.util.Map;

public final class GrokReferencePlugin extends Plugin implements IngestPlugin {
    static final String TYPE = "grok";
    static final String MATCH_INDEX = "_ingest._grok_match_index";

    @Override
    public Map<String, Processor.Factory> getProcessors(Processor.Parameters parameters) {
        return Map.of(TYPE, new Factory(parameters.matcherWatchdog));
    }

    static String combine(List<String> patterns, boolean traceMatch) {
        if (patterns.size() == 1) {
            return patterns.get(0);
        }
        StringBuilder combined = new StringBuilder();
        for (int i = 0; i < patterns.size(); i++) {
            if (i > 0) {
                combined.append('|');
            }
            combined.append(traceMatch ? "(?<" + MATCH_INDEX + "." + i + ">" : "(?:").append(patterns.get(i)).append(')');
        }
        return combined.toString();
    }

    static final class GrokReference extends AbstractProcessor {
        private final String field;
        private final Grok grok;
        private final boolean traceMatch;
        private final boolean ignoreMissing;
        private final int patternCount;

        GrokReference(String tag, String description, String field, Grok grok, boolean traceMatch, boolean ignoreMissing,
                      int patternCount) {
            super(tag, description);
            this.field = field;
            this.grok = grok;
            this.traceMatch = traceMatch;
            this.ignoreMissing = ignoreMissing;
            this.patternCount = patternCount;
        }

        @Override
        public IngestDocument execute(IngestDocument document) {
            String value = document.getFieldValue(field, String.class, ignoreMissing);
            if (value == null && ignoreMissing) {
                return document;
            } else if (value == null) {
                throw new IllegalArgumentException("field [" + field + "] is null, cannot process it.");
            }
            Map<String, Object> matches = grok.captures(value);
            if (matches == null) {
                throw new IllegalArgumentException("Provided Grok expressions do not match field value: [" + value + "]");
            }
            matches.forEach(document::setFieldValue);
            if (traceMatch) {
                if (patternCount > 1) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> index = (Map<String, Object>) document.getFieldValue(MATCH_INDEX, Object.class);
                    index.keySet().stream().findFirst().ifPresent(i -> document.setFieldValue(MATCH_INDEX, i));
                } else {
                    document.setFieldValue(MATCH_INDEX, "0");
                }
            }
            return document;
        }

        @Override
        public String getType() {
            return TYPE;
        }
    }

    static final class Factory implements Processor.Factory {
        private final MatcherWatchdog watchdog; // the node's ingest.grok.watchdog.* (1s by default)

        Factory(MatcherWatchdog watchdog) {
            this.watchdog = watchdog;
        }

        @Override
        public Processor create(/*CREATE_PARAMETERS*/) throws Exception {
            String field = ConfigurationUtils.readStringProperty(TYPE, tag, config, "field");
            List<String> patterns = ConfigurationUtils.readList(TYPE, tag, config, "patterns");
            boolean traceMatch = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "trace_match", false);
            boolean ignoreMissing = ConfigurationUtils.readBooleanProperty(TYPE, tag, config, "ignore_missing", false);
            String ecs = ConfigurationUtils.readStringProperty(TYPE, tag, config, "ecs_compatibility", "disabled");
            if (GrokBuiltinPatterns.isValidEcsCompatibilityMode(ecs) == false) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "ecs_compatibility", "unsupported mode '" + ecs + "'");
            }
            if (patterns.isEmpty()) {
                throw ConfigurationUtils.newConfigurationException(TYPE, tag, "patterns", "List of patterns must not be empty");
            }
            Map<String, String> custom = ConfigurationUtils.readOptionalMap(TYPE, tag, config, "pattern_definitions");
            try {
                PatternBank bank = GrokBuiltinPatterns.get(ecs).extendWith(custom);
                Grok grok = new Grok(bank, combine(patterns, traceMatch), watchdog, message -> {});
                return new GrokReference(tag, description, field, grok, traceMatch, ignoreMissing, patterns.size());
            } catch (Exception e) {
                throw ConfigurationUtils.newConfigurationException(
                    TYPE, tag, "patterns", "Invalid regex pattern found in: " + patterns + ". " + e.getMessage());
            }
        }
    }
}
