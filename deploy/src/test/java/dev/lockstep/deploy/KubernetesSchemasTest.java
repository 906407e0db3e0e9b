package dev.lockstep.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The schemas the other tests rely on accept a valid object and catch what a typo or a wrong type does. */
class KubernetesSchemasTest {
  private static final String DEPLOYMENT = """
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web}
      spec:
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec:
            containers:
              - name: web
                image: web:1
                readinessProbe: {httpGet: {path: /ready, port: 7071}, periodSeconds: 1}
      """;

  @Test
  void aValidDeploymentPasses() {
    assertThat(KubernetesSchemas.validate(one(DEPLOYMENT))).isEmpty();
  }

  @Test
  void aMisspeltFieldFails() {
    List<String> errors = KubernetesSchemas.validate(one(DEPLOYMENT.replace("readinessProbe", "readinesProbe")));
    assertThat(errors).anySatisfy(e -> assertThat(e).contains("readinesProbe"));
  }

  @Test
  void aWrongTypeOrAMissingRequiredFieldFails() {
    assertThat(KubernetesSchemas.validate(one(DEPLOYMENT.replace("periodSeconds: 1", "periodSeconds: often"))))
        .anySatisfy(e -> assertThat(e).contains("periodSeconds"));
    assertThat(KubernetesSchemas.validate(one(DEPLOYMENT.replace("- name: web\n", "- \n"))))
        .anySatisfy(e -> assertThat(e).contains("name"));
  }

  @Test
  void aKindWithoutASchemaIsAnErrorNotAPass() {
    assertThat(KubernetesSchemas.validate(one("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\n")))
        .singleElement().asString().contains("no schema for batch/v1 Job");
  }

  private static JsonNode one(String yaml) {
    return Manifests.parseAll(yaml).get(0);
  }
}
