package dev.latchkey.servlet;

/** The session contract on embedded Tomcat 11. */
final class TomcatSessionContractTest extends AbstractSessionContractTest {
    @Override
    Container newContainer() {
        return new TomcatContainer();
    }
}
