-- Run once by the postgres image on an empty data directory (docker-compose.yml mounts this folder at
-- /docker-entrypoint-initdb.d). One database per service, each owned by its own role: a service's credentials
-- reach only its own database. Development passwords only; production uses a managed PostgreSQL.
CREATE ROLE referrals LOGIN PASSWORD 'referrals-dev';
CREATE ROLE cases LOGIN PASSWORD 'cases-dev';
CREATE ROLE outcomes LOGIN PASSWORD 'outcomes-dev';
CREATE ROLE intelligence LOGIN PASSWORD 'intelligence-dev';

CREATE DATABASE referrals OWNER referrals;
CREATE DATABASE cases OWNER cases;
CREATE DATABASE outcomes OWNER outcomes;
CREATE DATABASE intelligence OWNER intelligence;

REVOKE CONNECT ON DATABASE referrals FROM PUBLIC;
REVOKE CONNECT ON DATABASE cases FROM PUBLIC;
REVOKE CONNECT ON DATABASE outcomes FROM PUBLIC;
REVOKE CONNECT ON DATABASE intelligence FROM PUBLIC;
GRANT CONNECT ON DATABASE referrals TO referrals;
GRANT CONNECT ON DATABASE cases TO cases;
GRANT CONNECT ON DATABASE outcomes TO outcomes;
GRANT CONNECT ON DATABASE intelligence TO intelligence;
