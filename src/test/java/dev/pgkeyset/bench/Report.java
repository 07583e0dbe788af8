package dev.pgkeyset.bench;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/** Collects the figures; prints them as a table and writes JSON, Markdown and PNG charts under target/bench/. */
final class Report {

    /** One line of the table: a method, its figure (median, min, max over runs) and a note. */
    record Line(String method, String unit, Stats figure, String note) {
    }

    private final Map<String, Object> context = new LinkedHashMap<>();
    private final List<Line> lines = new java.util.ArrayList<>();
    private final Map<String, List<double[]>> heapSeries = new LinkedHashMap<>();
    private final Map<String, Object> extra = new LinkedHashMap<>();

    void context(String key, Object value) {
        context.put(key, value);
    }

    void line(String method, String unit, Stats figure, String note) {
        lines.add(new Line(method, unit, figure, note));
        System.out.printf("  %-58s %12s %s  (min %s, max %s, %d runs) %s%n", method, format(figure.median()), unit,
                format(figure.min()), format(figure.max()), figure.runs(), note);
    }

    void extra(String key, Object value) {
        extra.put(key, value);
        System.out.printf("  %s: %s%n", key, value);
    }

    void heap(String name, List<double[]> series) {
        heapSeries.put(name, series);
    }

    private static String format(double value) {
        return value >= 100 ? String.format("%,.0f", value) : String.format("%.2f", value);
    }

    void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("context", context);
        json.put("lines", lines);
        json.put("extra", extra);
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(dir.resolve("results.json").toFile(), json);

        StringBuilder md = new StringBuilder("| method | median | min | max | runs | note |\n|---|---|---|---|---|---|\n");
        for (Line line : lines) {
            md.append("| ").append(line.method()).append(" | ").append(format(line.figure().median())).append(' ')
                    .append(line.unit()).append(" | ").append(format(line.figure().min())).append(" | ")
                    .append(format(line.figure().max())).append(" | ").append(line.figure().runs()).append(" | ")
                    .append(line.note()).append(" |\n");
        }
        md.append('\n');
        extra.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        md.append('\n');
        context.forEach((k, v) -> md.append("- ").append(k).append(": ").append(v).append('\n'));
        Files.writeString(dir.resolve("results.md"), md.toString());

        DefaultCategoryDataset throughput = new DefaultCategoryDataset();
        lines.stream().filter(l -> l.unit().equals("rows/s"))
                .forEach(l -> throughput.addValue(l.figure().median(), "rows/s", l.method()));
        JFreeChart bars = ChartFactory.createBarChart("Throughput by method (median rows/s)", null, "rows/s",
                throughput, PlotOrientation.HORIZONTAL, false, false, false);
        bars.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(dir.resolve("throughput.png").toFile(), bars, 1000, 500);

        XYSeriesCollection heap = new XYSeriesCollection();
        heapSeries.forEach((name, series) -> {
            XYSeries xy = new XYSeries(name);
            series.forEach(point -> xy.add(point[0], point[1]));
            heap.addSeries(xy);
        });
        JFreeChart heapChart = ChartFactory.createXYLineChart("Heap used over time", "seconds", "MiB", heap,
                PlotOrientation.VERTICAL, true, false, false);
        heapChart.setBackgroundPaint(Color.WHITE);
        ChartUtils.saveChartAsPNG(dir.resolve("heap.png").toFile(), heapChart, 1000, 500);
        System.out.println("Wrote " + dir.resolve("results.json") + ", results.md, throughput.png, heap.png");
    }
}
