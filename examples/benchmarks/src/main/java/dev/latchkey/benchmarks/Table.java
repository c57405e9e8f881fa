package dev.latchkey.benchmarks;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** One workload's table: a title, columns, rows of text cells, and notes printed below. */
final class Table {
    private final String title;
    private final List<String> columns;
    private final List<String[]> rows = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    Table(String title, String... columns) {
        this.title = title;
        this.columns = List.of(columns);
    }

    String title() {
        return title;
    }

    void add(Object... cells) {
        if (cells.length != columns.size()) {
            throw new IllegalArgumentException("expected " + columns.size() + " cells: "
                    + Arrays.toString(cells));
        }
        String[] row = new String[cells.length];
        for (int i = 0; i < cells.length; i++) {
            row[i] = String.valueOf(cells[i]);
        }
        rows.add(row);
    }

    void note(String note) {
        notes.add(note);
    }

    List<String> notes() {
        return notes;
    }

    int size() {
        return rows.size();
    }

    /** Every cell of a named column, top to bottom. */
    List<String> column(String column) {
        List<String> cells = new ArrayList<>();
        for (int r = 0; r < rows.size(); r++) {
            cells.add(cell(r, column));
        }
        return cells;
    }

    /** The cell of a row in a named column. */
    String cell(int row, String column) {
        int c = columns.indexOf(column);
        if (c < 0) {
            throw new IllegalArgumentException("no column " + column + " in " + columns);
        }
        return rows.get(row)[c];
    }

    void print(PrintStream out) {
        int[] widths = new int[columns.size()];
        for (int c = 0; c < widths.length; c++) {
            widths[c] = columns.get(c).length();
            for (String[] row : rows) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        out.println();
        out.println(title);
        out.println(line(columns.toArray(new String[0]), widths));
        for (String[] row : rows) {
            out.println(line(row, widths));
        }
        for (String note : notes) {
            out.println("  " + note);
        }
    }

    private static String line(String[] cells, int[] widths) {
        StringBuilder b = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                b.append("  ");
            }
            String cell = cells[c];
            boolean number = !cell.isEmpty() && (Character.isDigit(cell.charAt(0))
                    || cell.equals("-"));
            String pad = " ".repeat(widths[c] - cell.length());
            b.append(number && c > 0 ? pad + cell : cell + pad);
        }
        return b.toString().stripTrailing();
    }

    /** 12.3 or 1,234 for a number of microseconds or operations. */
    static String number(double value) {
        if (Double.isNaN(value)) {
            return "-";
        }
        return value >= 100 ? String.format(Locale.ROOT, "%,.0f", value)
                : String.format(Locale.ROOT, "%.1f", value);
    }

    /** 1.23x. */
    static String ratio(double value, double base) {
        if (Double.isNaN(value) || Double.isNaN(base) || base == 0) {
            return "-";
        }
        return String.format(Locale.ROOT, "%.2fx", value / base);
    }
}
