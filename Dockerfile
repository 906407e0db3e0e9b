# Builds both jars once; the coordinator and agent images take what they need from this stage.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q package -DskipTests

FROM eclipse-temurin:17-jre AS coordinator
COPY --from=build /src/coordinator/target/lockstep-coordinator.jar /opt/lockstep/lockstep-coordinator.jar
EXPOSE 7070
ENTRYPOINT ["java", "-Xmx128m", "-XX:+UseSerialGC", "-jar", "/opt/lockstep/lockstep-coordinator.jar"]
CMD ["serve"]

FROM eclipse-temurin:17-jre AS agent
COPY --from=build /src/agent/target/lockstep-agent.jar /opt/lockstep/lockstep-agent.jar
ENTRYPOINT ["java", "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", "/opt/lockstep/lockstep-agent.jar"]
