"""Jasmin's launcher for the gateway tests; runs in Jasmin's own Python, never imported.

Starts ``JasminDaemon`` in this process — without jasmind's machine-wide ``/tmp/jasmind`` lock,
so test sessions on one machine do not exclude each other — and configures it in-process, as
jCli would: an SMPP client connector ``sim`` to the test SMSC, a default MT route to it, and the
HTTP API user ``test``/``test``. Prints READY once the connector is bound.

Usage: jasmin_run.py CONFIG_FILE SMSC_PORT LOG_DIR
"""

import pickle
import sys

from jasmin.bin.jasmind import JasminDaemon, Options
from jasmin.protocols.smpp.configs import SMPPClientConfig
from jasmin.routing.jasminApi import Group, SmppClientConnector, User
from jasmin.routing.Routes import DefaultRoute
from twisted.internet import defer, reactor, task

PICKLE = pickle.HIGHEST_PROTOCOL


@defer.inlineCallbacks
def configure(daemon, smsc_port: int, log_dir: str):
    yield daemon.start()
    manager = daemon.components["smppcm-pb-factory"]
    router = daemon.components["router-pb-factory"]
    connector = SMPPClientConfig(
        id="sim",
        host="127.0.0.1",
        port=smsc_port,
        username="test",
        password="test",
        bindOperation="transceiver",
        submit_sm_throughput=0,  # Jasmin's default is one message per second
        log_file=f"{log_dir}/connector-sim.log",
    )
    yield manager.perspective_connector_add(pickle.dumps(connector, PICKLE))
    yield manager.perspective_connector_start("sim")
    group = Group("test")
    router.perspective_group_add(pickle.dumps(group, PICKLE))
    router.perspective_user_add(pickle.dumps(User("test", group, "test", "test"), PICKLE))
    route = DefaultRoute(SmppClientConnector("sim"))
    router.perspective_mtroute_add(pickle.dumps(route, PICKLE), 0)
    for _ in range(600):
        if str(manager.perspective_session_state("sim")).endswith("BOUND_TRX"):
            print("READY", flush=True)
            return
        yield task.deferLater(reactor, 0.05, lambda: None)
    raise RuntimeError("the connector to the SMSC never bound")


def main():
    config_file, smsc_port, log_dir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    options = Options()
    options.parseOptions(
        ["-c", config_file, "--enable-dlr-thrower", "--enable-dlr-lookup", "--disable-jcli"]
    )
    daemon = JasminDaemon(options)

    def failed(failure):
        print("FAILED", failure.getTraceback(), flush=True)
        reactor.stop()

    reactor.callWhenRunning(lambda: configure(daemon, smsc_port, log_dir).addErrback(failed))
    reactor.run()


main()
