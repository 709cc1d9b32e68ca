// Network tools (http, postgres, nats, artifact, playbook). Owned by the net-tools work.
export {};
