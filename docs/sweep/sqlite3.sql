CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200)
INSERT INTO t(name, v) SELECT 'row' || x, x * 1.5 FROM c;
COMMIT;
CREATE INDEX t_name ON t(name);
SELECT count(*), sum(v) FROM t WHERE name LIKE 'row1%';
UPDATE t SET v = v + 1 WHERE id % 3 = 0;
DELETE FROM t WHERE id > 150;
PRAGMA integrity_check;
