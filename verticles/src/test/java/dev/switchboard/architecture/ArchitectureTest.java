package dev.switchboard.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The one-way flow of docs/architecture.md, enforced: channels → routing → lanes → agent → delivery.
 * A component may use what is downstream of it (its contract: addresses and message records), never
 * what is upstream; it publishes an event instead.
 */
@AnalyzeClasses(packages = "dev.switchboard", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
  private static final String CHANNELS = "dev.switchboard.channels..";
  private static final String ROUTING = "dev.switchboard.routing..";
  private static final String LANES = "dev.switchboard.lanes..";
  private static final String AGENT = "dev.switchboard.agent..";
  private static final String DELIVERY = "dev.switchboard.delivery..";
  private static final String MEMORY = "dev.switchboard.memory..";
  private static final String HTTP = "dev.switchboard.http..";
  private static final String GATEWAY = "dev.switchboard.gateway..";
  private static final String AUTH = "dev.switchboard.auth..";
  private static final String STORE = "dev.switchboard.store..";
  private static final String CONFIG = "dev.switchboard.config..";
  private static final String WORKSPACE = "dev.switchboard.workspace..";

  @ArchTest
  static final ArchRule routingNeverReachesBackToChannels = noClasses().that().resideInAPackage(ROUTING)
      .should().dependOnClassesThat().resideInAnyPackage(CHANNELS, HTTP, GATEWAY)
      .because("routing is downstream of the channels; it answers them over the bus");

  @ArchTest
  static final ArchRule lanesNeverReachUpstream = noClasses().that().resideInAPackage(LANES)
      .should().dependOnClassesThat().resideInAnyPackage(ROUTING, CHANNELS, HTTP, GATEWAY)
      .because("lanes only receive turns; they publish session events for whoever listens");

  @ArchTest
  static final ArchRule agentNeverReachesUpstream = noClasses().that().resideInAPackage(AGENT)
      .should().dependOnClassesThat().resideInAnyPackage(LANES, ROUTING, CHANNELS, HTTP, GATEWAY, DELIVERY)
      .because("the agent loop is called by a lane and returns a reply; it never delivers by itself");

  @ArchTest
  static final ArchRule deliveryNeverReachesUpstream = noClasses().that().resideInAPackage(DELIVERY)
      .should().dependOnClassesThat().resideInAnyPackage(AGENT, LANES, ROUTING, CHANNELS, HTTP, GATEWAY)
      .because("delivery owns the outlet contract that channel adapters implement");

  @ArchTest
  static final ArchRule memoryIsALeafService = noClasses().that().resideInAPackage(MEMORY)
      .should().dependOnClassesThat().resideInAnyPackage(AGENT, LANES, ROUTING, CHANNELS, HTTP, GATEWAY, DELIVERY);

  @ArchTest
  static final ArchRule channelsOnlyTalkToRoutingAndDelivery = noClasses().that().resideInAPackage(CHANNELS)
      .should().dependOnClassesThat().resideInAnyPackage(LANES, AGENT, MEMORY, HTTP, GATEWAY)
      .because("a channel adapter hands messages to routing and serves delivery, nothing else");

  @ArchTest
  static final ArchRule foundationsDependOnNoComponent = noClasses()
      .that().resideInAnyPackage(STORE, CONFIG, WORKSPACE)
      .should().dependOnClassesThat().resideInAnyPackage(CHANNELS, ROUTING, LANES, AGENT, DELIVERY, MEMORY, HTTP,
          GATEWAY, AUTH);

  @ArchTest
  static final ArchRule onlyTheGatewayDeploysVerticles = noClasses().that().resideOutsideOfPackage(GATEWAY)
      .should().callMethod(io.vertx.core.Vertx.class, "deployVerticle", io.vertx.core.Deployable.class,
          io.vertx.core.DeploymentOptions.class)
      .because("each workspace's verticle set is deployed in one place, in a known order");

  @ArchTest
  static final ArchRule busOnlyThroughWorkspaceBus = noClasses()
      .that().resideOutsideOfPackages(WORKSPACE, GATEWAY)
      .should().dependOnClassesThat().areAssignableTo(io.vertx.core.eventbus.EventBus.class)
      .because("WorkspaceBus adds the ws.<id>. prefix, so no component can name another workspace's address");

  @ArchTest
  static final ArchRule jdbcOnlyInTheStore = noClasses().that().resideOutsideOfPackage(STORE)
      .should().dependOnClassesThat().resideInAnyPackage("java.sql..", "org.flywaydb..", "io.vertx.jdbcclient..")
      .because("SQL lives in one *Store class per aggregate");

  @ArchTest
  static final ArchRule packagesAreFreeOfCycles = slices().matching("dev.switchboard.(*)..").should().beFreeOfCycles();
}
