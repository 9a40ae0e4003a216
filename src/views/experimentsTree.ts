/**
 * The Experiments tree view: maps the pure node models of host/core/treeModel.ts onto TreeItems
 * (icons, state colours, markdown tooltips, contextValue for the menus) and refreshes when the
 * run store changes.
 */
import * as vscode from 'vscode';
import type { RunStore } from '../host/runStore';
import { buildTree } from '../host/core/experimentTree';
import type { TreeNodeModel } from '../host/core/treeModel';

const COLLAPSE: Record<TreeNodeModel['collapsible'], vscode.TreeItemCollapsibleState> = {
  none: vscode.TreeItemCollapsibleState.None,
  collapsed: vscode.TreeItemCollapsibleState.Collapsed,
  expanded: vscode.TreeItemCollapsibleState.Expanded,
};

export class ExperimentsTreeProvider implements vscode.TreeDataProvider<TreeNodeModel>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNodeModel | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: TreeNodeModel[] = [];
  private readonly sub: vscode.Disposable;

  constructor(store: RunStore) {
    this.roots = buildTree(store.experiments);
    this.sub = store.onDidChange(() => {
      this.roots = buildTree(store.experiments);
      this.changed.fire(undefined);
    });
  }

  getChildren(node?: TreeNodeModel): TreeNodeModel[] {
    return node ? node.children : this.roots;
  }

  getTreeItem(n: TreeNodeModel): vscode.TreeItem {
    const item = new vscode.TreeItem(n.label, COLLAPSE[n.collapsible]);
    item.id = n.id;
    item.description = n.description;
    if (n.tooltip) item.tooltip = new vscode.MarkdownString(n.tooltip);
    item.iconPath = new vscode.ThemeIcon(n.icon.id, n.icon.color ? new vscode.ThemeColor(n.icon.color) : undefined);
    item.contextValue = n.contextValue;
    if (n.path) item.resourceUri = vscode.Uri.file(n.path);
    if (n.kind === 'experiment' && n.experimentFile) item.command = { command: 'vscode.open', title: 'Open Experiment', arguments: [vscode.Uri.file(n.experimentFile)] };
    else if (n.command) item.command = { command: n.command.id, title: n.command.title, arguments: [n] };
    item.accessibilityInformation = { label: [n.label, n.description].filter(Boolean).join(', ') };
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}
