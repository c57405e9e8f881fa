package dev.latchkey.servlet;

/** The session contract on embedded Jetty 12 (ee10). */
final class JettySessionContractTest extends AbstractSessionContractTest {
    @Override
    Container newContainer() {
        return new JettyContainer();
    }
}
