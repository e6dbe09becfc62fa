-- Runs once, at first boot. Older clients and SQL functions read the JWT secret and
-- lifetime from database settings; both come from the container environment.
-- DBNAME is psql's own variable: the application database (POSTGRES_DB).
\set jwt_secret `echo "$JWT_SECRET"`
\set jwt_exp `echo "$JWT_EXP"`

ALTER DATABASE :"DBNAME" SET "app.settings.jwt_secret" TO :'jwt_secret';
ALTER DATABASE :"DBNAME" SET "app.settings.jwt_exp" TO :'jwt_exp';
