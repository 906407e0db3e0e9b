# One multi-stage file for both parts (docker-compose.yaml builds the targets `coordinator` and `agent`):
#   docker build --target coordinator -t lockstep-coordinator .
#   docker build --target agent -t lockstep-agent .
# Both images run as the unprivileged user 10001 and carry a HEALTHCHECK; deploy/helm/lockstep and the sidecar
# templates in deploy/helm/sidecar run them with a read-only root file system and an emptyDir on /tmp.

# Builds both jars once; the coordinator and agent images take what they need from this stage.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q package -DskipTests

FROM eclipse-temurin:17-jre AS coordinator
# The Alembic engine runs the real `alembic` command, and its rehearsal copies the schema with pg_dump and psql
# (postgresql-client: its major version must be at least the database server's). Distribution packages, as in
# scripts/services.sh; without them, `pip install alembic psycopg2-binary` gives the same command. curl is for
# the HEALTHCHECK.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      alembic python3-alembic python3-psycopg2 python3-sqlalchemy postgresql-client curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lockstep \
 && useradd --system --uid 10001 --gid lockstep --home-dir /nonexistent --shell /usr/sbin/nologin lockstep
COPY --from=build /src/coordinator/target/lockstep-coordinator.jar /opt/lockstep/lockstep-coordinator.jar
USER 10001:10001
EXPOSE 7070
# /health needs no token; it answers 503 while PostgreSQL or Redis is unreachable (docs/reference.md).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS "http://127.0.0.1:${LOCKSTEP_PORT:-7070}/health" >/dev/null || exit 1
# The JVM's flags are a variable, so a large fleet's heap is set without replacing the entrypoint:
#   docker run -e LOCKSTEP_JVM_OPTIONS="-Xmx256m -XX:+UseSerialGC" lockstep-coordinator
# (128m holds about 2,000 agents comfortably; docs/kubernetes.md, "Limits"). The shell only expands it and execs java,
# so java is PID 1 and receives SIGTERM itself.
# MALLOC_ARENA_MAX=2: glibc keeps two malloc arenas instead of eight per core; 5,000 agents' coordinator peaked at
# 244-246 MB resident with it, 258 MB without (docs/benchmarks.md, "Malloc arenas").
ENV LOCKSTEP_JVM_OPTIONS="-Xmx128m -XX:+UseSerialGC" MALLOC_ARENA_MAX=2
ENTRYPOINT ["sh", "-c", "exec java $LOCKSTEP_JVM_OPTIONS -jar /opt/lockstep/lockstep-coordinator.jar \"$@\"", "lockstep-coordinator"]
CMD ["serve"]

FROM eclipse-temurin:17-jre AS agent
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 lockstep \
 && useradd --system --uid 10001 --gid lockstep --home-dir /nonexistent --shell /usr/sbin/nologin lockstep
COPY --from=build /src/agent/target/lockstep-agent.jar /opt/lockstep/lockstep-agent.jar
USER 10001:10001
# In readiness mode (LOCKSTEP_READINESS_PORT set) the agent serves GET /live; without it the agent serves no HTTP
# at all, so there is nothing to ask and the check passes while the process runs (Docker stops a container whose
# PID 1 has exited anyway).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD if [ -n "$LOCKSTEP_READINESS_PORT" ]; then curl -fsS "http://127.0.0.1:$LOCKSTEP_READINESS_PORT/live" >/dev/null || exit 1; fi
# As the coordinator's: LOCKSTEP_JVM_OPTIONS replaces the README's agent flags.
ENV LOCKSTEP_JVM_OPTIONS="-Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1" MALLOC_ARENA_MAX=2
ENTRYPOINT ["sh", "-c", "exec java $LOCKSTEP_JVM_OPTIONS -jar /opt/lockstep/lockstep-agent.jar \"$@\"", "lockstep-agent"]
