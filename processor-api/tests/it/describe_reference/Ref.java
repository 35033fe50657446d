// Reference for describe(): Kafka Streams' InternalTopologyBuilder.describe() logic (node groups,
// HashMap iteration, TreeSet comparator with sizes mutated during insertion, HashSet store and
// topic lists) over real Java collections. Reads the spec that the ignored test
// `describe::random_topologies_for_the_java_reference` writes and prints what Kafka would:
//   BROOK_DESCRIBE_FUZZ_DIR=/tmp/d cargo test -p brook-processor-api --test it random -- --include-ignored
//   javac -d /tmp/d Ref.java && java -cp /tmp/d Ref < /tmp/d/spec.txt | cmp - /tmp/d/rust.txt
import java.util.*;
import java.io.*;

public class Ref {
    static final Comparator<Node> CMP = (a, b) -> {
        if (a == b) return 0;
        if (a.size != b.size) return b.size - a.size;
        return a.name.compareTo(b.name);
    };
    static abstract class Node {
        String name; int size = 1;
        Set<Node> preds = new TreeSet<>(CMP), succs = new TreeSet<>(CMP);
        Node(String n) { name = n; }
    }
    static String names(Set<Node> s) {
        if (s.isEmpty()) return "none";
        StringBuilder sb = new StringBuilder();
        for (Node n : s) { sb.append(n.name).append(", "); }
        sb.setLength(sb.length() - 2);
        return sb.toString();
    }
    static class Src extends Node { Set<String> topics; String pattern; Src(String n, Set<String> t, String p) { super(n); topics = t; pattern = p; }
        public String toString() { return "Source: " + name + " (topics: " + (topics == null ? pattern : topics.toString()) + ")\n      --> " + names(succs); } }
    static class Proc extends Node { Set<String> stores; Proc(String n, Set<String> s) { super(n); stores = s; }
        public String toString() { return "Processor: " + name + " (stores: " + stores + ")\n      --> " + names(succs) + "\n      <-- " + names(preds); } }
    static class Sink extends Node { String topic; Sink(String n, String t) { super(n); topic = t; }
        public String toString() { return "Sink: " + name + " (topic: " + topic + ")\n      <-- " + names(preds); } }

    static class Def { char kind; String name; String[] parents = new String[0]; List<String> topics = new ArrayList<>(); String pattern; String topic; Set<String> stores = new HashSet<>(); boolean global; }

    static void updateSize(Node n, int d) { n.size += d; for (Node p : n.preds) updateSize(p, d); }

    public static void main(String[] args) throws Exception {
        BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
        LinkedHashMap<String, Def> defs = new LinkedHashMap<>();
        Map<String, String> uf = new HashMap<>();
        Map<String, String> storeUser = new HashMap<>();
        String line;
        StringBuilder all = new StringBuilder();
        while ((line = r.readLine()) != null) {
            if (line.equals("---")) {
                all.append(describe(defs, uf)).append("\u0000\n");
                defs = new LinkedHashMap<>(); uf = new HashMap<>(); storeUser = new HashMap<>();
                continue;
            }
            String[] f = line.split(" ", -1);
            Def d = new Def(); d.kind = f[0].charAt(0); d.name = f[1];
            switch (d.kind) {
                case 'S': if (f[2].startsWith("~")) d.pattern = f[2].substring(1); else d.topics = Arrays.asList(f[2].split(",")); break;
                case 'G': d.topics = Arrays.asList(f[2]); d.global = true; break;
                case 'P': d.parents = f[2].split(","); if (f.length > 3 && !f[3].isEmpty()) for (String s : f[3].split(",")) d.stores.add(s); break;
                case 'K': d.topic = f[2]; d.parents = f[3].split(","); break;
            }
            defs.put(d.name, d);
            uf.put(d.name, d.name);
            for (String p : d.parents) union(uf, d.name, p);
            for (String s : d.stores) { if (storeUser.containsKey(s)) union(uf, d.name, storeUser.get(s)); else storeUser.put(s, d.name); }
        }
        System.out.print(all);
    }
    static String find(Map<String, String> uf, String x) { while (!uf.get(x).equals(x)) x = uf.get(x); return x; }
    static void union(Map<String, String> uf, String a, String b) { uf.put(find(uf, a), find(uf, b)); }

    static String describe(LinkedHashMap<String, Def> defs, Map<String, String> uf) {
        Map<Integer, Set<String>> groups = new LinkedHashMap<>();
        Map<String, Set<String>> byRoot = new HashMap<>();
        int id = 0;
        for (String n : defs.keySet()) {
            String root = find(uf, n);
            Set<String> g = byRoot.get(root);
            if (g == null) { g = new HashSet<>(); byRoot.put(root, g); groups.put(id++, g); }
            g.add(n);
        }
        StringBuilder sb = new StringBuilder("Topologies:\n ");
        for (Map.Entry<Integer, Set<String>> e : groups.entrySet()) {
            sb.append("  ");
            boolean global = false;
            for (String n : e.getValue()) if (defs.get(n).global) global = true;
            if (global) {
                String src = null, proc = null;
                for (String n : e.getValue()) if (defs.get(n).global) src = n; else proc = n;
                sb.append("Sub-topology: " + e.getKey() + " for global store (will not generate tasks)\n    Source: " + src + " (topics: [" + defs.get(src).topics.get(0) + "])\n      --> " + proc
                    + "\n    Processor: " + proc + " (stores: [" + defs.get(proc).stores.iterator().next() + "])\n      --> none\n      <-- " + src + "\n");
                continue;
            }
            Map<String, Node> byName = new HashMap<>();
            for (String n : e.getValue()) {
                Def d = defs.get(n);
                Node node;
                if (d.kind == 'S') node = new Src(n, d.pattern != null ? null : new HashSet<>(d.topics), d.pattern);
                else if (d.kind == 'P') node = new Proc(n, new HashSet<>(d.stores));
                else node = new Sink(n, d.topic);
                byName.put(n, node);
            }
            for (Node node : byName.values()) {
                for (String p : defs.get(node.name).parents) {
                    Node pred = byName.get(p);
                    node.preds.add(pred); pred.succs.add(node); updateSize(pred, node.size);
                }
            }
            TreeSet<Node> nodes = new TreeSet<>(CMP); nodes.addAll(new HashSet<>(byName.values()));
            sb.append("Sub-topology: " + e.getKey() + "\n");
            for (Node n : nodes) sb.append("    ").append(n).append('\n');
            sb.append('\n');
        }
        return sb.toString();
    }
}
