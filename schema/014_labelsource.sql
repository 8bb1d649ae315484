-- hindsight file format, version 14: labels read as Cilium reads them.
--
-- A label written without a source ("app=web", ":app=web") got source ''
-- in labels; Cilium's ParseLabel gives it "unspec", and with no ':' at
-- all a "reserved." prefix is source "reserved" ("reserved.health" is
-- reserved:health); "reserved:=host" and "$=host" are reserved:host.  A
-- piece with an empty key (":=") was kept as a label; Cilium drops it.
-- Label sets keep their text; only their split changes.

UPDATE labels SET source = 'reserved', key = substr(key, 10)
WHERE source = '' AND key GLOB 'reserved.?*'
AND instr(';' || (SELECT ls.labels FROM labelsets ls
	WHERE ls.id = labels.labelset_id), ';' || key) > 0;
UPDATE labels SET source = 'unspec' WHERE source = '';
UPDATE labels SET key = value, value = ''
WHERE source = 'reserved' AND key = '' AND value <> '';
DELETE FROM labels WHERE key = '';
