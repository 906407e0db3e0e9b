package dev.lockstep.agent;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.core.ConsoleAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;

/** The agent's logging set up in code ({@link AgentLogging}), and giving way to a configuration file when there is one. */
class AgentLoggingTest {

  @Test
  void linesOfTimeLevelAndMessageAtInfoWithNettyAndVertxAtWarn() {
    LoggerContext context = new LoggerContext();
    AgentLogging logging = new AgentLogging();
    logging.setContext(context);

    assertThat(logging.configure(context)).isEqualTo(Configurator.ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY);

    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    assertThat(root.getLevel()).isEqualTo(Level.INFO);
    assertThat(context.getLogger("io.netty").getLevel()).isEqualTo(Level.WARN);
    assertThat(context.getLogger("io.vertx").getLevel()).isEqualTo(Level.WARN);
    assertThat(context.getLogger("dev.lockstep.agent.Agent").getEffectiveLevel()).isEqualTo(Level.INFO);
    ConsoleAppender<?> console = (ConsoleAppender<?>) root.getAppender("CONSOLE");
    assertThat(console.isStarted()).isTrue();
    assertThat(((PatternLayoutEncoder) console.getEncoder()).getPattern()).isEqualTo("%d{HH:mm:ss.SSS} %-5level %msg%n");
  }

  @Test
  void aConfigurationFileGivenWinsAndNothingIsSetUpHere() {
    String was = System.getProperty("logback.configurationFile");
    System.setProperty("logback.configurationFile", "/etc/lockstep/agent-logback.xml");
    try {
      LoggerContext context = new LoggerContext();
      AgentLogging logging = new AgentLogging();
      logging.setContext(context);

      assertThat(logging.configure(context)).isEqualTo(Configurator.ExecutionStatus.INVOKE_NEXT_IF_ANY);
      assertThat(context.getLogger(Logger.ROOT_LOGGER_NAME).getAppender("CONSOLE")).isNull();
    } finally {
      if (was == null) {
        System.clearProperty("logback.configurationFile");
      } else {
        System.setProperty("logback.configurationFile", was);
      }
    }
  }
}
