// Drives the gateway with the PostgreSQL JDBC driver (pgjdbc): simple statements, server-side prepared
// statements (pgjdbc switches after prepareThreshold executions), a batch, a transaction rollback and an
// error. Prints one line per check; the e2e test compares them.
import java.sql.*;

public class JdbcProbe {
  public static void main(String[] args) throws Exception {
    String url = args[0];
    try (Connection c = DriverManager.getConnection(url, args[1], args[2])) {
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select 40 + 2")) {
        r.next();
        System.out.println("simple " + r.getInt(1));
      }
      try (Statement s = c.createStatement()) {
        s.execute("create temp table jdbc_t (id int primary key, name text)");
      }
      int sum = 0;
      try (PreparedStatement p = c.prepareStatement("select ?::int * 2")) {
        for (int i = 1; i <= 8; i++) {
          p.setInt(1, i);
          try (ResultSet r = p.executeQuery()) {
            r.next();
            sum += r.getInt(1);
          }
        }
      }
      System.out.println("prepared " + sum);
      try (PreparedStatement p = c.prepareStatement("insert into jdbc_t values (?, ?)")) {
        for (int i = 1; i <= 100; i++) {
          p.setInt(1, i);
          p.setString(2, "name-" + i);
          p.addBatch();
        }
        int[] counts = p.executeBatch();
        System.out.println("batch " + counts.length);
      }
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("delete from jdbc_t");
      }
      c.rollback();
      c.setAutoCommit(true);
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("select count(*) from jdbc_t")) {
        r.next();
        System.out.println("after-rollback " + r.getInt(1));
      }
      try (Statement s = c.createStatement()) {
        s.executeQuery("select * from no_such_table");
      } catch (SQLException e) {
        System.out.println("error " + e.getSQLState());
      }
      DatabaseMetaData meta = c.getMetaData();
      System.out.println("server " + meta.getDatabaseProductName());
    }
  }
}
