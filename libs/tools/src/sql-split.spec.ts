import { splitSqlStatements } from './sql-split';

describe('splitSqlStatements (K2.7)', () => {
  it('splits on semicolons and drops empty statements', () => {
    expect(splitSqlStatements('select 1; select 2;;  ;\n')).toEqual(['select 1', 'select 2']);
    expect(splitSqlStatements('select 1')).toEqual(['select 1']);
    expect(splitSqlStatements('')).toEqual([]);
    expect(splitSqlStatements(' ; ; ')).toEqual([]);
  });

  it('ignores semicolons in single-quoted strings with doubled-quote escapes', () => {
    expect(splitSqlStatements("insert into t values ('a;b', 'it''s; fine'); select ';'")).toEqual([
      "insert into t values ('a;b', 'it''s; fine')",
      "select ';'",
    ]);
  });

  it('honours backslash escapes in E strings only', () => {
    expect(splitSqlStatements("select E'a\\';b'; select 2")).toEqual(["select E'a\\';b'", 'select 2']);
    expect(splitSqlStatements("select 'a\\'; select 2")).toEqual(["select 'a\\'", 'select 2']);
  });

  it('ignores semicolons in double-quoted identifiers', () => {
    expect(splitSqlStatements('select 1 as "a;""b"; select 2')).toEqual(['select 1 as "a;""b"', 'select 2']);
  });

  it('ignores semicolons in dollar-quoted bodies, tagged or not', () => {
    const fn = 'create function f() returns int as $$ begin return 1; end; $$ language plpgsql';
    const tagged = 'do $body$ begin perform 1; raise notice \'$$;\'; end $body$';
    expect(splitSqlStatements(`${fn}; ${tagged}; select 3`)).toEqual([fn, tagged, 'select 3']);
  });

  it('does not take positional parameters or identifiers with $ for dollar quotes', () => {
    expect(splitSqlStatements('select $1; select a$b$ from t; select 2')).toEqual(['select $1', 'select a$b$ from t', 'select 2']);
  });

  it('ignores semicolons in line and (nested) block comments; comment-only statements are dropped', () => {
    const sql = [
      '-- first; statement',
      'select 1; -- trailing; comment',
      '/* block; /* nested; */ still comment; */ select 2;',
      '/* only a comment; */',
      '-- done;',
    ].join('\n');
    expect(splitSqlStatements(sql)).toEqual(['-- first; statement\nselect 1', '-- trailing; comment\n/* block; /* nested; */ still comment; */ select 2']);
  });

  it('keeps an unterminated quote to the end (the database reports it)', () => {
    expect(splitSqlStatements("select 'abc; select 2")).toEqual(["select 'abc; select 2"]);
  });

  it('handles the K2.9 example', () => {
    expect(splitSqlStatements("INSERT INTO t VALUES (1,'gold'),(2,'x'),(3,'y');\nSELECT id, tier FROM t WHERE tier = 'gold';")).toEqual([
      "INSERT INTO t VALUES (1,'gold'),(2,'x'),(3,'y')",
      "SELECT id, tier FROM t WHERE tier = 'gold'",
    ]);
  });
});
