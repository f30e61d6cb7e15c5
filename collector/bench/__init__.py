"""``glassbox bench``: how many spans per second one relay takes with a given config on this machine, and what
it costs (CPU, memory, added latency, where the time goes). Everything runs on 127.0.0.1: the relay, a
stand-in for the Datadog intake, and the client processes."""
