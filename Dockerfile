# Builds both jars once; the coordinator and agent images take what they need from this stage.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q package -DskipTests

FROM eclipse-temurin:17-jre AS coordinator
# The Alembic engine runs the real `alembic` command, and its rehearsal copies the schema with pg_dump and psql
# (postgresql-client: its major version must be at least the database server's). Distribution packages, as in
# scripts/services.sh; without them, `pip install alembic psycopg2-binary` gives the same command.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      alembic python3-alembic python3-psycopg2 python3-sqlalchemy postgresql-client \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/coordinator/target/lockstep-coordinator.jar /opt/lockstep/lockstep-coordinator.jar
EXPOSE 7070
ENTRYPOINT ["java", "-Xmx128m", "-XX:+UseSerialGC", "-jar", "/opt/lockstep/lockstep-coordinator.jar"]
CMD ["serve"]

FROM eclipse-temurin:17-jre AS agent
COPY --from=build /src/agent/target/lockstep-agent.jar /opt/lockstep/lockstep-agent.jar
ENTRYPOINT ["java", "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", "/opt/lockstep/lockstep-agent.jar"]
