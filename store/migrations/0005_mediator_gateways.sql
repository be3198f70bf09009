-- 0005_mediator_gateways: the roster's explicit bindings of an MQTT gateway user to a mediator
-- (a mediator's "gateways"). A message on {p}/inbound/{channel} from a bound user is that
-- mediator's command; every other gateway user is a resident. A (channel, user) names at most
-- one mediator.
CREATE TABLE mediator_gateways (
    mediator_id  TEXT NOT NULL REFERENCES mediators(id) ON DELETE CASCADE,
    pos          INTEGER NOT NULL,
    channel      TEXT NOT NULL,
    user         TEXT NOT NULL,
    PRIMARY KEY (mediator_id, pos),
    UNIQUE (channel, user)
);
